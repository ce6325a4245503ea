// A simulated worker's model over idle time (issue 13), decided by core as on a live worker node
// (core/worker/model-lifecycle.ts): once the worker has had nothing to do for idleUnloadMs, its model
// is unloaded (the worker turns cold: the next request pays the model load, coldStartMs, and the
// runtime's prompt cache is gone) unless it is hot — at least prewarm.minRequests requests within the
// last prewarm.windowMs — in which case it stays loaded and is warmed, and is looked at again
// idleUnloadMs later. A simulated worker serves one model. A warmup generate costs nothing here (the
// live node's is one short request on an idle runtime).
import { HotModels, idleModelAction, type PrewarmParams } from '../../core/worker/model-lifecycle.js';

export interface ModelIdleConfig {
  /** Idle time after which the model is unloaded (live: WorkerNodeConfig.idleUnloadMs). */
  readonly idleUnloadMs: number;
  /** Hot models stay loaded (live: WorkerNodeConfig.prewarm); absent: never hot. */
  readonly prewarm?: PrewarmParams;
}

/** The one model of a simulated worker, as HotModels names it. */
const MODEL = 'model';

export class ModelIdle {
  readonly idleUnloadMs: number;
  private readonly hot: HotModels;

  constructor(c: ModelIdleConfig) {
    if (!(c.idleUnloadMs > 0 && Number.isFinite(c.idleUnloadMs))) throw new Error(`modelIdle.idleUnloadMs must be a finite number > 0, got ${c.idleUnloadMs}`);
    this.idleUnloadMs = c.idleUnloadMs;
    this.hot = new HotModels(c.prewarm ?? { windowMs: 0, minRequests: 0 });
  }

  /** A request for the model arrived. */
  noteArrival(nowMs: number): void {
    this.hot.note(MODEL, nowMs);
  }

  /** The worker has been idle for idleUnloadMs: core's action (it is not busy, or it would not be idle). */
  onIdle(nowMs: number): 'prewarm' | 'unload' {
    return idleModelAction(false, this.hot.isHot(MODEL, nowMs)) === 'prewarm' ? 'prewarm' : 'unload';
  }
}
