// How many workers a model needs now for its latency target: the scaling signal (issue 19) that an
// autoscaler (KEDA / HPA external metric on mlx_serving_desired_workers) acts on.
//
// Queueing reasoning, per model, over the observation window (scaling.windowMs):
//   λ  = arrivals per second (demand, including requests later refused: they are load too)
//   W  = mean time a completed request held a worker slot (dispatch → done), seconds
//   c  = mean concurrency limit of the model's workers (slots per worker)
//   ρ  = scaling.targetUtilisation: the fraction of slots busy at the target (headroom for bursts:
//        queueing delay grows as 1/(1-ρ), so ρ < 1 is what keeps the wait near zero)
//   Little's law: busy slots L = λ·W.
//   The backlog B (queued at the gateway) must be drained within scaling.backlogDrainMs = H on top
//   of the arrivals: B requests each holding a slot for W add B·W/H busy slots over the horizon.
//   needed slots S = λ·W + B·W/H;  raw = ceil(S / (c·ρ)), clamped to [minWorkers, maxWorkers].
//   W is unknown before the first completion in the window: then the signal holds the current count
//   while work is in flight or queued (reason 'no-service-time'), and says 0 (scale to the minimum)
//   only when the model saw no arrivals and has nothing in flight or queued ('idle').
//
// Stabilisation (no flapping): scaling up follows the raw value at once; scaling down follows the
// highest raw value seen over the last scaling.scaleDownStabilisationMs (the Kubernetes HPA rule),
// so a dip must last that long before the signal drops. Pure: time comes in as nowMs.
import type { ScalingConfig } from '../config/types.js';
import { invariant } from '../util/assert.js';

export type { ScalingConfig } from '../config/types.js';


export interface ScalingInputs {
  readonly arrivalsPerS: number;
  /** Completions per second over the window (for the reader; the formula uses arrivals). */
  readonly completionsPerS: number;
  /** W in ms, undefined before a completion in the window. */
  readonly serviceMs: number | undefined;
  readonly inFlight: number;
  readonly queued: number;
  /** Workers serving the model now. */
  readonly workers: number;
  /** c: mean concurrency limit of those workers (0 when none). */
  readonly slotsPerWorker: number;
}

export type ScalingReason = 'load' | 'backlog' | 'idle' | 'no-service-time' | 'stabilising' | 'min-workers' | 'max-workers';

export interface ScalingDecision {
  readonly desiredWorkers: number;
  /** Before stabilisation. */
  readonly rawWorkers: number;
  readonly reason: ScalingReason;
  /** S: slots needed (λ·W + B·W/H), undefined while W is unknown. */
  readonly slotsNeeded: number | undefined;
}

/** The raw recommendation (no stabilisation). */
export function rawDesiredWorkers(x: ScalingInputs, cfg: ScalingConfig): { readonly workers: number; readonly reason: ScalingReason; readonly slotsNeeded: number | undefined } {
  if (x.serviceMs === undefined) {
    if (x.arrivalsPerS === 0 && x.inFlight === 0 && x.queued === 0) return clamp(0, 'idle', undefined, cfg);
    return clamp(x.workers, 'no-service-time', undefined, cfg);
  }
  const wS = x.serviceMs / 1000;
  const loadSlots = x.arrivalsPerS * wS;
  const backlogSlots = (x.queued * wS * 1000) / cfg.backlogDrainMs;
  const slotsNeeded = loadSlots + backlogSlots;
  if (slotsNeeded === 0) return clamp(0, 'idle', 0, cfg);
  // Before any worker reports, assume one slot per worker (the most conservative).
  const perWorker = Math.max(1, x.slotsPerWorker) * cfg.targetUtilisation;
  const workers = Math.ceil(slotsNeeded / perWorker - 1e-9);
  return clamp(workers, backlogSlots > loadSlots ? 'backlog' : 'load', slotsNeeded, cfg);
}

function clamp(workers: number, reason: ScalingReason, slotsNeeded: number | undefined, cfg: ScalingConfig): { workers: number; reason: ScalingReason; slotsNeeded: number | undefined } {
  if (workers < cfg.minWorkers) return { workers: cfg.minWorkers, reason: reason === 'idle' ? 'idle' : 'min-workers', slotsNeeded };
  if (workers > cfg.maxWorkers) return { workers: cfg.maxWorkers, reason: 'max-workers', slotsNeeded };
  return { workers, reason, slotsNeeded };
}

/** Raw recommendations kept for the scale-down window, at most this many (older ones are dropped first). */
const HISTORY_MAX = 1024;

/** One model's stabilised signal: up at once, down to the window's highest raw value. */
export class DesiredWorkers {
  private readonly history: { atMs: number; workers: number }[] = [];

  constructor(private readonly cfg: ScalingConfig) {}

  decide(x: ScalingInputs, nowMs: number): ScalingDecision {
    const raw = rawDesiredWorkers(x, this.cfg);
    const h = this.history;
    invariant(h.length === 0 || h[h.length - 1]!.atMs <= nowMs, 'DesiredWorkers: time went backwards');
    h.push({ atMs: nowMs, workers: raw.workers });
    while (h.length > HISTORY_MAX || (h.length > 1 && h[0]!.atMs < nowMs - this.cfg.scaleDownStabilisationMs)) h.shift();
    let held = raw.workers;
    for (const e of h) if (e.workers > held) held = e.workers;
    return { desiredWorkers: held, rawWorkers: raw.workers, reason: held > raw.workers ? 'stabilising' : raw.reason, slotsNeeded: raw.slotsNeeded };
  }
}
