// The step planner: what one runtime step does, decided before it runs. Stall-free batching after
// Sarathi-Serve (Agrawal et al., OSDI 2024): every step decodes the whole running batch first, and
// prefill chunks fill only what is left of a per-step time budget set by the inter-token-latency
// target, so an arriving prompt never stalls the running streams by more than that budget.
//
// Differences from mlx-lm's BatchGenerator (mlx_lm/generate.py 0.32, _next), which the baseline
// mlx_lm.server runs: there, each step runs the decode pass and then one chunk of up to
// prefill_step_size (2048 in the server) tokens for each of up to 8 prompts, with no shared budget,
// and a prompt's last token takes an extra forward pass of its own when it joins the decode batch.
// Here:
//   - target: L = max(itlTargetMs, latencyFloorFactor × decodeMs(1, 0)) — a target the machine cannot
//     meet even for one sequence gives way to a multiple of its fastest step;
//   - token budget: T = (L − decodeMs(B, ctx) − prefillPassMs) / msPerPrefillToken,
//     clamped to [minChunkTokens, maxChunkTokens]; with nothing decoding, T = maxChunkTokens;
//   - order: prefilling sequences take the budget in admission order, then waiting ones are admitted
//     in arrival order (FCFS: a long prompt is never passed over, so it cannot starve);
//   - admission: a waiting sequence joins only if it gets prefill tokens this step (no KV held by
//     sequences that are not progressing), if the batch stays under maxSequences, and if the decode
//     pass of the batch it would join (context included) is predicted to stay within
//     decodeShareMax × L — the batch is as large as the latency target allows;
//   - the chunk that completes a prompt computes its last token too, and samples the first output
//     token from it: no extra forward pass to join the decode batch.
// Pure and deterministic; python/mlx_runtime/step_planner.py carries the same policy, kept equal by
// the conformance table (conformance.ts).
import type { StepCostModel } from './step-cost.js';

export interface StepPlannerConfig {
  /** Inter-token latency the steps aim at (ms): decode + prefill of one step. */
  readonly itlTargetMs: number;
  /** Share of the target the decode pass may take when admitting (the rest is left for prefill). */
  readonly decodeShareMax: number;
  /** Hard cap on sequences in the batch (decoding + prefilling). */
  readonly maxSequences: number;
  /** Prefill tokens per step even when decode alone reaches the target (progress, no starvation). */
  readonly minChunkTokens: number;
  /** Prefill tokens per step at most (activation memory; also the budget when nothing decodes). */
  readonly maxChunkTokens: number;
  /**
   * The target the planner works to is never below this many times the decode pass of one sequence:
   * on a machine too slow for itlTargetMs (a CPU), it keeps batching and prefilling as the baseline
   * does instead of shrinking the batch to one and prefill to minChunkTokens.
   */
  readonly latencyFloorFactor: number;
}

export interface PrefillingSeq {
  /** Prompt tokens still to process (≥ 1: the last one yields the first output token). */
  readonly leftTokens: number;
  /** Prompt tokens in all (its context once it decodes). */
  readonly promptTokens: number;
}

export interface WaitingSeq {
  /** Uncached prompt tokens to prefill (≥ 1). */
  readonly prefillTokens: number;
  readonly promptTokens: number;
}

export interface PlannerState {
  readonly decoding: number;
  readonly decodeContextTokens: number;
  readonly prefilling: readonly PrefillingSeq[];
  /** Head of the waiting queue, in arrival order (the caller may pass only the first few). */
  readonly waiting: readonly WaitingSeq[];
}

export interface StepPlan {
  /** Waiting sequences to admit (a prefix of `waiting`). */
  readonly admit: number;
  /** Chunk tokens per prefilling sequence, then per admitted one (0: no progress this step). */
  readonly chunks: readonly number[];
  readonly prefillTokens: number;
  readonly tokenBudget: number;
  readonly predictedMs: number;
}

export function validatePlannerConfig(c: StepPlannerConfig): void {
  const pos = (k: keyof StepPlannerConfig, v: number, int: boolean): void => {
    if (!Number.isFinite(v) || v <= 0 || (int && !Number.isInteger(v))) throw new Error(`step planner: ${k} must be a ${int ? 'positive integer' : 'number > 0'}, got ${v}`);
  };
  pos('itlTargetMs', c.itlTargetMs, false);
  pos('decodeShareMax', c.decodeShareMax, false);
  if (c.decodeShareMax > 1) throw new Error(`step planner: decodeShareMax must be in (0, 1], got ${c.decodeShareMax}`);
  pos('maxSequences', c.maxSequences, true);
  pos('minChunkTokens', c.minChunkTokens, true);
  pos('maxChunkTokens', c.maxChunkTokens, true);
  pos('latencyFloorFactor', c.latencyFloorFactor, false);
  if (c.minChunkTokens > c.maxChunkTokens) throw new Error(`step planner: minChunkTokens (${c.minChunkTokens}) must be <= maxChunkTokens (${c.maxChunkTokens})`);
}

/** The step time the planner works to: the ITL target, or a multiple of one sequence's decode pass when the machine is too slow for it. */
export function effectiveTargetMs(cfg: StepPlannerConfig, cost: StepCostModel): number {
  const floor = cfg.latencyFloorFactor * cost.decodeMs(1, 0);
  return floor > cfg.itlTargetMs ? floor : cfg.itlTargetMs;
}

/** Prefill tokens this step may process, given the decode batch. */
export function tokenBudget(cfg: StepPlannerConfig, cost: StepCostModel, decoding: number, decodeContextTokens: number): number {
  if (decoding === 0) return cfg.maxChunkTokens;
  const spareMs = effectiveTargetMs(cfg, cost) - cost.decodeMs(decoding, decodeContextTokens) - cost.prefillPassMs();
  const t = Math.floor(spareMs / cost.msPerPrefillToken());
  return t < cfg.minChunkTokens ? cfg.minChunkTokens : t > cfg.maxChunkTokens ? cfg.maxChunkTokens : t;
}

export function planStep(cfg: StepPlannerConfig, cost: StepCostModel, s: PlannerState): StepPlan {
  const budget = tokenBudget(cfg, cost, s.decoding, s.decodeContextTokens);
  const chunks: number[] = [];
  let left = budget;
  // Sequences that will be decoding once their prefill is done: the batch an admission joins.
  let batch = s.decoding;
  let context = s.decodeContextTokens;
  for (const p of s.prefilling) {
    const c = p.leftTokens < left ? p.leftTokens : left;
    chunks.push(c);
    left -= c;
    batch++;
    context += p.promptTokens;
  }
  const decodeMaxMs = cfg.decodeShareMax * effectiveTargetMs(cfg, cost);
  let admit = 0;
  for (const w of s.waiting) {
    if (left <= 0 || batch >= cfg.maxSequences) break;
    // The first sequence of an idle worker is always admitted, whatever the prediction says.
    if (batch > 0 && cost.decodeMs(batch + 1, context + w.promptTokens) > decodeMaxMs) break;
    const c = w.prefillTokens < left ? w.prefillTokens : left;
    chunks.push(c);
    left -= c;
    batch++;
    context += w.promptTokens;
    admit++;
  }
  const prefillTokens = budget - left;
  return { admit, chunks, prefillTokens, tokenBudget: budget, predictedMs: cost.predictMs(s.decoding, s.decodeContextTokens, prefillTokens) };
}
