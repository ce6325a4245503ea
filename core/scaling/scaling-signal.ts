// The gateway core's scaling signal (desired-workers.ts): what it observes per model — arrivals,
// and each completion's service time (dispatch → done) — and, when asked, each served model's
// desired worker count from those and the state the core passes in (in flight, queued, workers).
// Only models some worker serves are tracked (a client naming unknown models cannot grow the maps).
import { DesiredWorkers, type ScalingConfig, type ScalingDecision, type ScalingInputs } from './desired-workers.js';
import { WindowStats } from './window-stats.js';

/** The window is cut in this many buckets. */
const BUCKETS = 10;

/** What the core knows of a model now, apart from the rates observed here. */
export interface ModelState {
  readonly model: string;
  readonly inFlight: number;
  readonly queued: number;
  readonly workers: number;
  readonly slotsPerWorker: number;
  /** Completions per second (the queues' drain rate), undefined while unknown. */
  readonly completionsPerS: number | undefined;
}

export interface ModelScaling extends ScalingDecision {
  readonly model: string;
  readonly currentWorkers: number;
  readonly inputs: ScalingInputs;
}

export class ScalingSignal {
  private readonly arrivals = new Map<string, WindowStats>();
  private readonly services = new Map<string, WindowStats>();
  private readonly deciders = new Map<string, DesiredWorkers>();

  constructor(readonly config: ScalingConfig) {}

  onArrival(model: string, nowMs: number): void {
    if (this.config.enabled) this.stats(this.arrivals, model).record(nowMs);
  }

  onCompletion(model: string, serviceMs: number, nowMs: number): void {
    if (this.config.enabled) this.stats(this.services, model).record(nowMs, serviceMs);
  }

  /** Each model's decision, sorted by model; empty when scaling is off. */
  signal(models: readonly ModelState[], nowMs: number): ModelScaling[] {
    if (!this.config.enabled) return [];
    const out: ModelScaling[] = [];
    for (const m of [...models].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))) {
      const a = this.arrivals.get(m.model)?.read(nowMs);
      const s = this.services.get(m.model)?.read(nowMs);
      const inputs: ScalingInputs = {
        arrivalsPerS: a === undefined ? 0 : (a.count * 1000) / a.spanMs,
        completionsPerS: m.completionsPerS ?? (s === undefined ? 0 : (s.count * 1000) / s.spanMs),
        serviceMs: s === undefined || s.count === 0 ? undefined : s.sum / s.count,
        inFlight: m.inFlight, queued: m.queued, workers: m.workers, slotsPerWorker: m.slotsPerWorker,
      };
      let d = this.deciders.get(m.model);
      if (d === undefined) this.deciders.set(m.model, (d = new DesiredWorkers(this.config)));
      out.push({ model: m.model, currentWorkers: m.workers, inputs, ...d.decide(inputs, nowMs) });
    }
    return out;
  }

  private stats(map: Map<string, WindowStats>, model: string): WindowStats {
    let w = map.get(model);
    if (w === undefined) map.set(model, (w = new WindowStats(this.config.windowMs / BUCKETS, BUCKETS)));
    return w;
  }
}
