// Defaults of the step planner (the runtime's scheduler), with where each comes from.
import type { StepPlannerConfig } from './step-planner.js';

export const DEFAULT_STEP_PLANNER: StepPlannerConfig = {
  // The performance PRD's interactive bound is P95 ITL < 120 ms; steps are planned to 100 ms so that
  // the cost model's error and the network stay inside it.
  itlTargetMs: 100,
  // A new sequence is admitted while the decode pass it joins is predicted at ≤ 80 % of the target:
  // at least a fifth of every step is left for prefill, so arrivals keep being served.
  decodeShareMax: 0.8,
  // The runtime's max_sequences (python/mlx_runtime/engine_config.py EngineConfig) is the hard cap; the
  // latency target usually binds first.
  maxSequences: 128,
  // Sarathi-Serve's smallest chunk size studied (Agrawal et al. 2024, fig. 11) is 256 with a 5 % cost;
  // 32 tokens a step still finish a 500-token prompt in 16 steps when decode alone fills the target.
  minChunkTokens: 32,
  // mlx_lm.server's prefill_step_size (mlx_lm/server.py 0.32.2, --prefill-step-size default 2048):
  // the same activation memory bound as the baseline's chunk.
  maxChunkTokens: 2048,
  // A machine whose single-sequence decode step is over half the target cannot meet it: work to twice
  // that step instead (on a CPU the batch then still grows to ~16 sequences, as mlx_lm.server's would).
  latencyFloorFactor: 2,
};
