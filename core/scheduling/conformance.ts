// The conformance table between the step planner here and its Python port
// (python/mlx_runtime/step_planner.py, step_cost.py). Cases are generated from this TypeScript with a
// fixed-seed generator of its own (core draws no randomness): each case is a run of a cost model
// (observations, then its coefficients) and of plans over varied states. `npm run gen:conformance`
// writes them to python/tests/data/step_planner_cases.json; vitest checks that the committed file is
// what this code generates now, pytest that Python computes the same from each case's inputs.
import { StepCostModel, type StepCostOptions, type StepCostPrior } from './step-cost.js';
import { planStep, type PlannerState, type StepPlan, type StepPlannerConfig } from './step-planner.js';
import { DEFAULT_STEP_PLANNER } from './defaults.js';

export interface ConformanceCase {
  readonly name: string;
  readonly prior: StepCostPrior;
  readonly options: StepCostOptions;
  readonly config: StepPlannerConfig;
  /** [batch, contextTokens, prefillTokens, measuredMs] fed to observe() in order. */
  readonly observations: readonly (readonly [number, number, number, number])[];
  readonly thetaAfter: readonly number[];
  readonly plans: readonly { readonly state: PlannerState; readonly plan: StepPlan }[];
}

/** Park–Miller minimal standard generator: integers only, the same in any language. */
function lcg(seed: number): () => number {
  let s = seed % 2147483647;
  if (s <= 0) s += 2147483646;
  return () => {
    s = (s * 48271) % 2147483647;
    return s;
  };
}

function int(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

export function conformanceCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const configs: StepPlannerConfig[] = [
    DEFAULT_STEP_PLANNER,
    { itlTargetMs: 40, decodeShareMax: 0.5, maxSequences: 8, minChunkTokens: 16, maxChunkTokens: 512, latencyFloorFactor: 3 },
    { itlTargetMs: 250, decodeShareMax: 1, maxSequences: 64, minChunkTokens: 1, maxChunkTokens: 4096, latencyFloorFactor: 1.5 },
  ];
  for (let c = 0; c < 12; c++) {
    const next = lcg(1000 + c);
    const config = configs[c % configs.length]!;
    const prior: StepCostPrior = {
      baseMs: int(next, 1, 4000) / 100,
      perSequenceMs: int(next, 0, 300) / 100,
      perKiloContextMs: int(next, 0, 200) / 100,
      prefillPassMs: int(next, 0, 1000) / 100,
      perKiloPrefillTokensMs: int(next, 1, 50000) / 100,
    };
    const options: StepCostOptions = { forgetting: c % 4 === 3 ? 1 : 0.99 + int(next, 0, 9) / 1000, priorVariance: [1, 100, 1e4][c % 3]! };
    const cost = new StepCostModel(prior, options);
    // A hidden linear truth with noise, so the fit moves.
    const truth = [int(next, 1, 3000) / 100, int(next, 0, 200) / 100, int(next, 0, 100) / 100, int(next, 0, 800) / 100, int(next, 100, 40000) / 100];
    const observations: [number, number, number, number][] = [];
    const n = c === 0 ? 0 : int(next, 1, 60);
    for (let i = 0; i < n; i++) {
      const b = int(next, 0, 96);
      const ctx = b * int(next, 16, 3000);
      const p = next() % 3 === 0 ? 0 : int(next, 1, 4096);
      const y = truth[0]! + truth[1]! * b + (truth[2]! * ctx) / 1024 + (p > 0 ? truth[3]! : 0) + (truth[4]! * p) / 1024 + (int(next, 0, 2000) - 1000) / 100;
      observations.push([b, ctx, p, y]);
      cost.observe(b, ctx, p, y);
    }
    const plans: { state: PlannerState; plan: StepPlan }[] = [];
    for (let k = 0; k < 6; k++) {
      const decoding = k === 0 ? 0 : int(next, 0, config.maxSequences);
      const state: PlannerState = {
        decoding,
        decodeContextTokens: decoding * int(next, 1, 2000),
        prefilling: Array.from({ length: int(next, 0, 4) }, () => ({ leftTokens: int(next, 1, 3000), promptTokens: int(next, 3000, 6000) })),
        waiting: Array.from({ length: int(next, 0, 10) }, () => {
          const prompt = int(next, 1, 8000);
          return { prefillTokens: int(next, 1, prompt), promptTokens: prompt };
        }),
      };
      plans.push({ state, plan: planStep(config, cost, state) });
    }
    cases.push({ name: `case-${c}`, prior, options, config, observations, thetaAfter: [...cost.theta], plans });
  }
  return cases;
}
