// Public API of the discrete-event simulator (sim/). See sim/README.md.
export * from './engine/index.js';
export * from './rng/index.js';
export * from './profiles/index.js';
export * from './latency/index.js';
export * from './worker/index.js';
export * from './workload/index.js';
export * from './metrics/index.js';
export * from './validation/index.js';
export { runDirect, type DirectRunConfig, type DirectRunResult } from './direct/run-direct.js';
