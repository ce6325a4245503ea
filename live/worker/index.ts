// The worker node's public API.
export { startWorker, silentLog, type StartWorkerOptions, type Worker } from './worker.js';
export { resolveWorkerConfig, type ModelSpec, type WorkerNodeConfig, type WorkerNodeOptions } from './config.js';
export { WorkerNode, type EventSink, type JobHandle, type ModelEntry, type WorkerCounters, type WorkerLogger } from './worker-node.js';
export { fingerprintModelDir } from './model-dir.js';
export { startWorkerServer, type WorkerServer } from './worker-server.js';
export { WORKER_ERRORS, WorkerError, toWorkerError, type WorkerErrorCode } from './errors.js';
export {
  RuntimeClient, RuntimeRpcError, RuntimeGoneError, RuntimeTimeoutError, RPC,
  type GenerateParams, type GenerateResult, type TokensNotification, type RuntimeMethods, type RuntimeClientOptions,
} from './runtime-client.js';
export { RuntimeProcess, PYTHON_DIR, DEFAULT_PYTHON, type RuntimeSpawnOptions } from './runtime-process.js';
export { pythonBin, configuredPython, probeDevice } from '../shared/python.js';
export { RuntimePool, type RuntimeSlot, type PoolParams } from './runtime-pool.js';
export { WarmupScheduler, warmupGenerate, type WarmupParams } from './warmup.js';
