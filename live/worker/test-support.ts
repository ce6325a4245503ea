// Test support for the worker (not part of the public API): the tiny model (live/shared/model.ts).
import { ensureModel, MODEL_CACHE_DIR } from '../shared/model.js';
import { join } from 'node:path';

export { until } from '../shared/poll.js';

export const TINY_MODEL_DIR = join(MODEL_CACHE_DIR, 'tiny');

/** Builds (or reuses) the tiny model; returns its directory. */
export function ensureTinyModel(): string {
  return ensureModel('tiny');
}

