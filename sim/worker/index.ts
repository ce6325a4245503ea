// Public API of the worker model.
export { NO_WAKE, SimSequence, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type StepObserver, type WorkerConfig, type WorkerErrorCode, type WorkerState, type WorkerStats, type WorkerView } from './worker.js';
export { CapacityAdmission, type MemoryAdmission } from './memory.js';
export { SessionPrefixCache } from './prefix-cache.js';
export { NetworkModel, validateNetworkConfig, type NetworkConfig } from './network.js';
export { FAULTS_PER_PLAN_MAX, slowdownsFor, validateFaultPlan, validateRollingRestart, validateSlowdown, type CrashFault, type FaultPlan, type RollingRestartFault, type SlowdownWindow } from './faults.js';
