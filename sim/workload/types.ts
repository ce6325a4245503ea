// Workload value types: what a generator produces (SimRequest: an InferenceRequest plus its arrival
// time and the number of tokens it will really generate) and the configuration unions. Invalid
// configuration raises WorkloadError naming the field and the reason.
import type { InferenceRequest } from '../../core/types.js';

/** Tokens per prefix block in the simulator (Mooncake uses 512; 64 gives finer prefix sharing). */
export const PREFIX_BLOCK_TOKENS = 64;
/** Bound on a prompt's block list (64 × 4096 = 262 144 tokens). */
export const PREFIX_BLOCKS_MAX = 4096;

export interface SimRequest {
  readonly arrivalMs: number;
  readonly request: InferenceRequest;
  /** Tokens the model will generate for it (<= request.sampling.maxTokens). */
  readonly outputTokens: number;
}

/** A pull-based source of arrivals in nondecreasing arrivalMs; undefined when exhausted. */
export interface ArrivalSource {
  next(): SimRequest | undefined;
}

export type LengthDist =
  | { readonly type: 'fixed'; readonly tokens: number }
  | { readonly type: 'uniform'; readonly minTokens: number; readonly maxTokens: number }
  | { readonly type: 'lognormal'; readonly meanTokens: number; readonly cv: number; readonly minTokens: number; readonly maxTokens: number };

export type RateProfile =
  | { readonly type: 'constant'; readonly rps: number }
  | { readonly type: 'step'; readonly steps: readonly { readonly atMs: number; readonly rps: number }[] }
  | { readonly type: 'spike'; readonly baseRps: number; readonly spikeRps: number; readonly startMs: number; readonly durationMs: number };

/** Inter-arrival law in operational time: Poisson (CV 1) or gamma renewal with the given CV (bursty if > 1). */
export type ArrivalProcess = { readonly type: 'poisson' } | { readonly type: 'gamma'; readonly cv: number };

export interface SessionConfig {
  /** Probability an arrival is the next turn of an active session (if any) rather than a new one. */
  readonly continueProbability: number;
  readonly turnsPerSession: LengthDist;
  /** Tokens of the new user message appended at each later turn. */
  readonly userTokens: LengthDist;
  readonly maxActiveSessions: number;
}

export interface DuplicateConfig {
  /** Fraction of requests that repeat a hot prompt exactly (temperature 0, same sampling). */
  readonly ratio: number;
  readonly hotSetSize: number;
  readonly zipfExponent: number;
}

export interface ConstrainedConfig {
  /**
   * Fraction of requests that ask for structured output (OpenAI's response_format json_object): their
   * fingerprint differs from free text, and a worker pays the grammar mask per decoding row
   * (sim/worker/worker.ts constrainedRowMs). A duplicate repeats its hot prompt's choice.
   */
  readonly ratio: number;
}

/** Content options shared by open and closed loops. */
export interface ContentConfig {
  readonly model: string;
  readonly promptTokens: LengthDist;
  readonly outputTokens: LengthDist;
  /** A system prompt shared by every request (shared leading blocks). Default 0. */
  readonly sharedPrefixTokens?: number;
  readonly duplicates?: DuplicateConfig;
  readonly constrained?: ConstrainedConfig;
  readonly temperature?: number;
  readonly stream?: boolean;
  /** Sessions end before their prompt would exceed this. Default 32 768. */
  readonly contextTokensMax?: number;
  /** Every request's tenant (fairness between tenants, core.fairness). Default none. */
  readonly tenant?: string;
}

export interface OpenLoopConfig extends ContentConfig {
  readonly type: 'open';
  readonly rate: RateProfile;
  readonly arrival: ArrivalProcess;
  readonly durationMs: number;
  readonly requestsMax?: number;
  readonly sessions?: SessionConfig;
}

/** Several open loops at once (e.g. one per tenant), merged in arrival order (sim/workload/mix.ts). */
export interface MixConfig {
  readonly type: 'mix';
  /** Every part's model. */
  readonly model: string;
  /** The longest part's duration. */
  readonly durationMs: number;
  readonly parts: readonly OpenLoopConfig[];
}

export type ThinkTime = { readonly type: 'fixed'; readonly ms: number } | { readonly type: 'exponential'; readonly meanMs: number };

export interface ClosedLoopConfig extends ContentConfig {
  readonly type: 'closed';
  readonly users: number;
  readonly thinkTime: ThinkTime;
  /** Users start uniformly over [0, rampUpMs). */
  readonly rampUpMs: number;
  readonly turnsPerSession: LengthDist;
  readonly userTokens: LengthDist;
  readonly durationMs: number;
  readonly requestsMax?: number;
}

export class WorkloadError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`workload: ${field} ${reason}`);
    this.name = 'WorkloadError';
  }
}

export function checkNumber(field: string, v: unknown, opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new WorkloadError(field, `must be a number, got ${String(v)}`);
  if (!Number.isFinite(v)) throw new WorkloadError(field, `must be finite, got ${v}`);
  if (opts.integer && !Number.isInteger(v)) throw new WorkloadError(field, `must be an integer, got ${v}`);
  if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) throw new WorkloadError(field, `must be ${opts.exclusiveMin ? '>' : '>='} ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new WorkloadError(field, `must be <= ${opts.max}, got ${v}`);
  return v;
}
