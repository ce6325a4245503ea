// Public API of the discrete-event simulator (sim/). See sim/README.md.
export * from './engine/index.js';
export * from './rng/index.js';
export * from './profiles/index.js';
export * from './latency/index.js';
export * from './worker/index.js';
export * from './workload/index.js';
export * from './metrics/index.js';
export * from './validation/index.js';
export { SimCluster, type ArrivalDriver, type ClusterMode, type ClusterRunResult, type ClusterSpec } from './cluster/cluster.js';
export { arrivalsFor, closedLoopArrivals, openLoopArrivals } from './cluster/arrivals.js';
export { planCapacity, physicalLowerBound, type CapacityAnswer, type CapacityQuery } from './capacity/planner.js';
export { GovernedAdmission, UngovernedAdmission } from './worker/governed-admission.js';
