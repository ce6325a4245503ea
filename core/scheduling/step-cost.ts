// A learned cost model of one runtime step, for the step planner (step-planner.ts). Pure: the caller
// measures each step and calls observe(); nothing here reads a clock.
//
//   stepMs ≈ θ0 + θ1·B + θ2·ctx/1024 + θ3·[P > 0] + θ4·P/1024
//
// B = sequences in the decode batch, ctx = their total context tokens, P = prefill tokens processed in
// the step (0 when none). θ0..θ2 price the decode pass (weights once per step, per-sequence work, KV
// reads), θ3 the fixed cost of a prefill pass (its own weight read on a runtime that does not fuse it
// with decode), θ4 the prefill compute. Fitted by recursive least squares with a forgetting factor,
// starting from a prior (config, or a calibrated profile) so that the first steps are planned sensibly.
// The arithmetic is written out (no matrix library) so that python/mlx_runtime/step_cost.py, which
// ports it line by line, gives the same floats: core/scheduling/conformance.ts checks both.

export const FEATURES = 5;

/** Prior coefficients, in milliseconds (units in the names). */
export interface StepCostPrior {
  readonly baseMs: number;
  readonly perSequenceMs: number;
  readonly perKiloContextMs: number;
  readonly prefillPassMs: number;
  readonly perKiloPrefillTokensMs: number;
}

export interface StepCostOptions {
  /** RLS forgetting factor in (0, 1]; 1 never forgets. */
  readonly forgetting: number;
  /** Initial covariance diagonal: how far the first observations may move the prior. */
  readonly priorVariance: number;
}

export const STEP_COST_OPTIONS_DEFAULT: StepCostOptions = { forgetting: 0.995, priorVariance: 100 };

/** Floor of every prediction and of the per-token prefill price, so the planner never divides by ~0. */
const MIN_MS = 0.01;
const MIN_MS_PER_KILO_TOKEN = 0.01;
/** Covariance trace above which the fit is reset to its prior variance (forgetting without excitation). */
const TRACE_MAX = 1e9;

export function features(batch: number, contextTokens: number, prefillTokens: number): number[] {
  return [1, batch, contextTokens / 1024, prefillTokens > 0 ? 1 : 0, prefillTokens / 1024];
}

export class StepCostModel {
  readonly theta: number[];
  private readonly p: number[]; // FEATURES × FEATURES, row-major
  private readonly opts: StepCostOptions;
  observations = 0;

  constructor(prior: StepCostPrior, opts: StepCostOptions = STEP_COST_OPTIONS_DEFAULT) {
    for (const [k, v] of Object.entries(prior)) if (!Number.isFinite(v) || v < 0) throw new Error(`step cost prior: ${k} must be a finite number >= 0, got ${v}`);
    if (!(opts.forgetting > 0 && opts.forgetting <= 1)) throw new Error(`step cost: forgetting must be in (0, 1], got ${opts.forgetting}`);
    if (!(opts.priorVariance > 0)) throw new Error(`step cost: priorVariance must be > 0, got ${opts.priorVariance}`);
    this.theta = [prior.baseMs, prior.perSequenceMs, prior.perKiloContextMs, prior.prefillPassMs, prior.perKiloPrefillTokensMs];
    this.opts = opts;
    this.p = new Array<number>(FEATURES * FEATURES).fill(0);
    this.resetCovariance();
  }

  private resetCovariance(): void {
    for (let i = 0; i < FEATURES; i++) for (let j = 0; j < FEATURES; j++) this.p[i * FEATURES + j] = i === j ? this.opts.priorVariance : 0;
  }

  /** Predicted duration of a step (ms, ≥ MIN_MS). */
  predictMs(batch: number, contextTokens: number, prefillTokens: number): number {
    const x = features(batch, contextTokens, prefillTokens);
    let y = 0;
    for (let i = 0; i < FEATURES; i++) y += this.theta[i]! * x[i]!;
    return y > MIN_MS ? y : MIN_MS;
  }

  /** The decode pass alone (no prefill). */
  decodeMs(batch: number, contextTokens: number): number {
    return this.predictMs(batch, contextTokens, 0);
  }

  /** Fixed cost of adding a prefill pass to a step (≥ 0). */
  prefillPassMs(): number {
    const v = this.theta[3]!;
    return v > 0 ? v : 0;
  }

  /** Marginal cost of one prefill token (ms, > 0). */
  msPerPrefillToken(): number {
    const v = this.theta[4]!;
    return (v > MIN_MS_PER_KILO_TOKEN ? v : MIN_MS_PER_KILO_TOKEN) / 1024;
  }

  /** One measured step: recursive least squares update. */
  observe(batch: number, contextTokens: number, prefillTokens: number, measuredMs: number): void {
    if (!Number.isFinite(measuredMs) || measuredMs < 0) return;
    const x = features(batch, contextTokens, prefillTokens);
    const n = FEATURES;
    const p = this.p;
    const px = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += p[i * n + j]! * x[j]!;
      px[i] = s;
    }
    let denom = this.opts.forgetting;
    for (let i = 0; i < n; i++) denom += x[i]! * px[i]!;
    let predicted = 0;
    for (let i = 0; i < n; i++) predicted += this.theta[i]! * x[i]!;
    const err = measuredMs - predicted;
    for (let i = 0; i < n; i++) this.theta[i] = this.theta[i]! + (px[i]! / denom) * err;
    let trace = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) p[i * n + j] = (p[i * n + j]! - (px[i]! * px[j]!) / denom) / this.opts.forgetting;
      trace += p[i * n + i]!;
    }
    if (!(trace < TRACE_MAX)) this.resetCovariance();
    this.observations++;
  }
}
