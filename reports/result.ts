// The result of one scenario run: what the runner prints, what reports/ renders, what the CI gate
// compares with committed reference results. Plain JSON; key order is stable so the same run gives
// byte-identical output.

/** Summary metrics of one policy set's run (sim or live use the same names). */
export interface RunSummary {
  readonly policy: string;
  readonly workers: number;
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rejected: number;
  readonly durationMs: number;
  readonly outputTokens: number;
  readonly outputTokPerS: number;
  readonly successRate: number;
  readonly ttftMs: Percentiles;
  readonly itlMs: Percentiles;
  readonly e2eMs: Percentiles;
  readonly queueMs: Percentiles;
  /** Extra named figures (cache hit rate, evictions, retries, …). */
  readonly extra: Readonly<Record<string, number>>;
  /** Latency CDFs for charts: [valueMs, cumulative fraction] pairs, at most ~100 points each. */
  readonly cdf: { readonly ttftMs: readonly (readonly [number, number])[]; readonly e2eMs: readonly (readonly [number, number])[]; readonly itlMs: readonly (readonly [number, number])[] };
  /** Output tok/s per time bucket, for a throughput-over-time chart. */
  readonly timeline: readonly { readonly tMs: number; readonly outputTokPerS: number; readonly inFlight: number }[];
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** One line of the comparison table. */
export interface ResultRow {
  readonly metric: string;
  readonly unit: string;
  readonly baseline: number | null;
  readonly candidate: number;
  /** candidate ÷ baseline when both exist and baseline ≠ 0. */
  readonly ratio: number | null;
  /** Human-readable target, e.g. "≥ 1.10× baseline" or "< 120 ms"; null when only informative. */
  readonly target: string | null;
  readonly pass: boolean | null;
  /** How far from the target when it fails, e.g. "ratio 1.04, needs 1.10 (−5.5 %)". */
  readonly shortfall: string | null;
}

/** A curve for charts: e.g. throughput vs workers (scaling) or vs users (concurrency). */
export interface Curve {
  readonly name: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: readonly { readonly series: string; readonly x: number; readonly y: number }[];
}

/** The capacity-planning answer: formula beside simulation beside physics. */
export interface CapacityRow {
  readonly useCase: string;
  readonly model: string;
  readonly hardware: string;
  readonly targetRps: number;
  readonly documentWorkers: number | null;
  readonly formulaWorkers: number;
  readonly formulaWorkersWithHeadroom: number;
  readonly simulatedWorkers: number | null;
  readonly simulatedTtftP95Ms: number | null;
  readonly simulatedItlP95Ms: number | null;
  /** Single-stream decode tok/s the hardware can physically do for this model (roofline). */
  readonly rooflineDecodeTokPerS: number;
  /** The runtime calibration the answer uses, and why (sim/capacity/calibration-choice.ts). */
  readonly calibration?: { readonly runtime: string; readonly why: string };
  /** The same question under every MLX calibration of the chip (the chosen one included), and the physical lower bound. */
  readonly bands?: readonly { readonly calibration: string; readonly workers: number | null }[];
  /** Workers needed when one assumption moves by ±20 % (prefill speed, decode speed, prompt length), the rest as chosen. */
  readonly sensitivity?: readonly { readonly assumption: string; readonly workers: number | null }[];
  /** The same question under other seeds (sim/capacity/seed-spread.ts): the answer's spread from sampling alone. */
  readonly seedSpread?: { readonly seeds: readonly number[]; readonly workers: readonly (number | null)[]; readonly min: number | null; readonly median: number | null; readonly max: number | null };
  readonly note: string;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  readonly description: string;
  readonly mode: 'sim' | 'live';
  readonly seed: number;
  readonly baseline: RunSummary | null;
  readonly candidate: RunSummary;
  readonly rows: readonly ResultRow[];
  readonly curves: readonly Curve[];
  readonly capacity: readonly CapacityRow[];
  readonly passed: boolean;
  /** Free-text notes the report shows verbatim (assumptions, where the design document is contradicted). */
  readonly notes: readonly string[];
  /** Live runs: the section used, the devices each side ran on, and the repetitions behind the medians. */
  readonly live?: LiveRunInfo;
}

export interface LiveRunInfo {
  /** The live profile (`cpu` or `gpu` section) and why it was chosen. */
  readonly profile: 'cpu' | 'gpu';
  readonly profileReason: string;
  /** The project's model size served. */
  readonly model: string;
  /** MLX device each side's python reported (mlx_lm.server at start-up; the runtimes in `health`). */
  readonly devices: { readonly baseline: string; readonly candidate: string };
  readonly repetitions: Repetitions;
  /**
   * Requests that did not succeed, by code, summed over the repetitions (most frequent first): the
   * code the client saw (the gateway's error code, mlx_lm.server's, `http_<status>`, `timeout`, …).
   * Absent in results written before issue 15.
   */
  readonly errors?: { readonly baseline: readonly LiveErrorCount[]; readonly candidate: readonly LiveErrorCount[] };
}

export interface LiveErrorCount {
  readonly code: string;
  readonly failed: number;
  readonly rejected: number;
}

// The repetitions of a live run (scenarios/live/repeat.ts computes them).
export type SideOrder = 'baseline-first' | 'candidate-first';

export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export interface RepetitionFigures {
  readonly rep: number;
  readonly order: SideOrder;
  readonly baseline: Readonly<Record<string, number>>;
  readonly candidate: Readonly<Record<string, number>>;
  /** candidate ÷ baseline within this repetition; null when the baseline figure is 0. */
  readonly ratio: Readonly<Record<string, number | null>>;
}

export interface Repetitions {
  readonly count: number;
  readonly runs: readonly RepetitionFigures[];
  readonly spread: {
    readonly baseline: Readonly<Record<string, Spread>>;
    readonly candidate: Readonly<Record<string, Spread>>;
    readonly ratio: Readonly<Record<string, Spread | null>>;
  };
}
