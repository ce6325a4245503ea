// The gateway side of the registry: turns registry changes into worker links.
//
//   static (the default)  the gateway's `workers` list from its config file; nothing to watch.
//   nats                  watchNatsRegistry: a worker that registers is added (a link and a Session
//                         stream are opened), one that misses `missesMax` heartbeats or deregisters is
//                         removed (the core retries its running requests elsewhere), one that comes
//                         back is added again; a changed address re-creates the link.
// A worker listed statically is never removed by the registry.
import type { RegistryConfig, WorkerEndpoint } from '../shared/config.js';
import { watchNatsRegistry, type NatsRegistryWatch, type RegistryChange } from './nats-registry.js';

export interface RegistryTarget {
  addWorker(endpoint: WorkerEndpoint): Promise<void>;
  removeWorker(id: string): void;
  hasWorker(id: string): boolean;
  /** Ids from the static list (never removed by the registry). */
  readonly staticIds: ReadonlySet<string>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface AttachedRegistry {
  stop(): Promise<void>;
}

/** Starts following the registry; resolves once the current workers were added. */
export async function attachRegistry(cfg: RegistryConfig, target: RegistryTarget): Promise<AttachedRegistry> {
  if (cfg.type === 'static') return { stop: async () => undefined };
  const addresses = new Map<string, string>();
  const adding = new Set<Promise<void>>();
  const add = (id: string, address: string) => {
    const p = target.addWorker({ id, address }).catch((err: unknown) => target.log.warn({ worker: id, err: (err as Error).message }, 'registry: adding worker failed'));
    adding.add(p);
    void p.finally(() => adding.delete(p));
  };
  const onChange = (c: RegistryChange) => {
    if (c.type === 'removed' || c.type === 'unhealthy') {
      const id = c.type === 'removed' ? c.id : c.worker.record.id;
      if (target.staticIds.has(id) || !target.hasWorker(id)) return;
      target.log.warn({ worker: id, change: c.type, ...(c.type === 'removed' && { reason: c.reason }) }, 'registry: worker removed');
      addresses.delete(id);
      target.removeWorker(id);
      return;
    }
    const { id, address } = c.worker.record;
    if (target.staticIds.has(id) || !c.worker.healthy) return;
    const known = addresses.get(id);
    if (known !== undefined && known !== address && target.hasWorker(id)) target.removeWorker(id);
    if (known === address && target.hasWorker(id)) return;
    addresses.set(id, address);
    target.log.info({ worker: id, address, models: c.worker.record.models.map((m) => `${m.id}@${m.version}`) }, 'registry: worker added');
    add(id, address);
  };
  const watch: NatsRegistryWatch = await watchNatsRegistry(cfg.url, onChange, {
    ...(cfg.bucket !== undefined && { bucket: cfg.bucket }),
    ...(cfg.missesMax !== undefined && { missesMax: cfg.missesMax }),
    onError: (err) => target.log.warn({ err: err.message }, 'registry error'),
  });
  await watch.initialized;
  await Promise.all([...adding]);
  return { stop: () => watch.stop() };
}
