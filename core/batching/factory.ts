// Turns a batching config into a batcher. 'none' is a zero-window micro-batcher: requests are
// released as soon as they arrive (only same-instant arrivals share a dispatch).
import type { BatchingConfig } from '../config/types.js';
import { AdaptiveBatcher } from './adaptive-batcher.js';
import type { Batcher } from './batcher.js';
import { MicroBatcher } from './micro-batcher.js';

export function createBatcher(cfg: BatchingConfig): Batcher {
  switch (cfg.type) {
    case 'none':
      return new MicroBatcher(0, 1024);
    case 'micro':
      return new MicroBatcher(cfg.windowMs, cfg.maxBatchSize);
    case 'adaptive':
      return new AdaptiveBatcher(cfg);
  }
}
