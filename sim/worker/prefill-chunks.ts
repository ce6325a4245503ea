// Chunked prefill as mlx-lm's BatchGenerator does it (mlx_lm/generate.py 0.32, BatchGenerator._next):
// every step, after the decode step of the generation batch, each sequence of the prompt batch
// (at most prefill_batch_size) processes one chunk of at most prefill_step_size prompt tokens. A
// prompt's last token is left for generation: in the step after its last chunk (or at once, when only
// one uncached token was left) the sequence moves to the generation batch, whose constructor runs a
// forward pass over the joiners (the worker charges decodeStepMs(joiners, their context)) that
// computes the first token; mlx reports it at the start of the next step, the model at this step's end.
// No prefill work is done while the generation batch is full; here prefill + decode ≤ maxSequences
// (the runtime caps inserted sequences at max_sequences), so a full decode batch means no prefill.
// Cost of a chunk, from the latency model so that a prompt's total prefill cost is conserved:
//   f(x) = prefillMs(cached + x, cached)     (x uncached tokens done; attention over the cached prefix)
//   cost = f(charged + chunk) − f(charged); the last chunk (or the join step when there was no chunk)
//   also charges the last token, so Σ costs = f(promptTokens − cached) = prefillMs(prompt, cached).
// Right-padding of unequal chunks inside one prompt batch (mlx pads to the longest) is not modelled.
import type { LatencyModel } from '../latency/latency-model.js';
import type { SimSequence } from './sequence.js';

/** mlx_runtime EngineConfig.prefill_step_size / server.py --prefill-step-size default. */
export const PREFILL_STEP_TOKENS_DEFAULT = 512;
/** mlx_runtime EngineConfig.prefill_batch_size / server.py --prefill-batch-size default. */
export const PREFILL_BATCH_SIZE_DEFAULT = 8;

/** Sets up a sequence's prefill at admission; returns the request overhead to charge once. */
export function startPrefill(seq: SimSequence, lat: LatencyModel): number {
  const uncached = seq.input.promptTokens - seq.cachedTokens;
  seq.prefillLeftTokens = Math.max(0, uncached - 1);
  seq.prefillChargedTokens = 0;
  seq.prefillComputeMs = lat.requestOverheadMs;
  return lat.requestOverheadMs;
}

/**
 * Plans this step's work for one prefilling sequence: a chunk of min(stepTokens, left, budget) tokens,
 * or the join when the prompt is down to its last token. Returns the chunk's cost (ms before slow-down).
 */
export function planChunk(seq: SimSequence, lat: LatencyModel, stepTokens: number, budgetTokens: number): number {
  const left = seq.prefillLeftTokens;
  seq.joining = left === 0;
  const chunk = Math.min(stepTokens, left, budgetTokens);
  seq.stepChunkTokens = chunk;
  if (!seq.joining && chunk === 0) return 0;
  const cached = seq.cachedTokens;
  const uncached = seq.input.promptTokens - cached;
  const from = seq.prefillChargedTokens;
  const to = seq.joining || chunk === left ? uncached : from + chunk;
  if (to === from) return 0;
  const costMs = lat.prefillMs(cached + to, cached) - lat.prefillMs(cached + from, cached);
  seq.prefillChargedTokens = to;
  seq.prefillComputeMs += costMs;
  return costMs;
}

/**
 * The step planner's prefill (core/scheduling/step-planner.ts): every uncached prompt token goes
 * through chunks, the last chunk computes the first output token (no join pass). Sets up a sequence
 * at admission; returns the request overhead to charge once.
 */
export function startPlannedPrefill(seq: SimSequence, lat: LatencyModel): number {
  seq.prefillLeftTokens = seq.input.promptTokens - seq.cachedTokens;
  seq.prefillChargedTokens = 0;
  seq.prefillComputeMs = lat.requestOverheadMs;
  return lat.requestOverheadMs;
}

/** Charges a planned chunk of `chunk` tokens; the sequence joins the decode batch when it was its last. Returns its cost (ms). */
export function chargePlannedChunk(seq: SimSequence, lat: LatencyModel, chunk: number): number {
  seq.stepChunkTokens = chunk;
  seq.joining = chunk > 0 && chunk === seq.prefillLeftTokens;
  if (chunk === 0) return 0;
  const cached = seq.cachedTokens;
  const from = seq.prefillChargedTokens;
  const to = from + chunk;
  const costMs = lat.prefillMs(cached + to, cached) - lat.prefillMs(cached + from, cached);
  seq.prefillChargedTokens = to;
  seq.prefillComputeMs += costMs;
  return costMs;
}
