// The registry's public API: NATS JetStream registration (workers) and watch (gateways).
export {
  startNatsRegistration, watchNatsRegistry, workerKey, DEFAULT_BUCKET, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MISSES_MAX, TTL_INTERVALS,
  type NatsRegistration, type NatsRegistrationOptions, type NatsRegistryWatch, type NatsWatchOptions, type RegistrationInfo, type RegisteredWorker,
  type RegistryChange, type WorkerRecord, type ModelVersion,
} from './nats-registry.js';
export { attachRegistry, type AttachedRegistry, type RegistryTarget } from './gateway-registry.js';
export { startNatsServer, freePort, type NatsServer } from './nats-server.js';
