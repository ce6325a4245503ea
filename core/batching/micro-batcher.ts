// Micro-batching (architecture document): collect requests for a fixed window (5–10 ms) or until
// maxBatchSize, whichever first. windowMs = 0 is pass-through: only requests arriving at the same
// instant share a batch.
import { WindowBatcher, type BatchLimits } from './batcher.js';

export class MicroBatcher extends WindowBatcher {
  readonly name = 'micro';
  private readonly limits: BatchLimits;
  constructor(windowMs: number, maxBatchSize: number) {
    super();
    this.limits = { windowMs, maxBatchSize };
  }
  protected limitsFor(): BatchLimits {
    return this.limits;
  }
}
