// The NATS JetStream registry: worker discovery, heartbeats and model versions for clusters that span
// machines (DESIGN.md, "Registry"). The static list in the gateway's config file stays the default.
//
// Layout: one KV bucket (default `mlx_serving_workers`, history 1, max age `ttlMs`); one key per
// worker (base64url of its id: KV keys allow [-/_=.A-Za-z0-9] only, worker ids also allow ':'),
// holding a JSON WorkerRecord — address, models with their versions and sizes, a status summary,
// the heartbeat interval. A worker re-puts its record every heartbeatIntervalMs (default 5 s) and
// deletes it when it stops gracefully.
//
// The watcher (the gateway side) watches the bucket and keeps, per worker, the local time of its last
// heartbeat:
//   added      first record seen (or seen again after a removal)
//   updated    address, models, health or draining changed (not every heartbeat)
//   unhealthy  no heartbeat for missesMax × the worker's interval (default 3 × 5 s)
//   removed    the record was deleted (graceful stop) or no heartbeat for the bucket's TTL
// The bucket's max age expires records on the server too, but NATS 2.9 writes no marker when it
// does, so the watcher runs its own clock; both use the same TTL.
//
// NATS unreachable (issue 8): silence then says nothing about the workers, so while the watcher's
// connection is down its view is frozen — no worker turns unhealthy or expires, the gateway keeps
// routing to the workers it knows. On reconnect every known worker gets a fresh grace period (its
// heartbeat age restarts at 0), the watch is re-opened (current records first, then live updates) and
// the clocks run again. Workers keep reconnecting (forever) and heartbeat at once when they are back.
import { connect, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import { cappedExponentialDelayMs } from '../../core/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { ModelInfoMsg, WorkerStatusMsg } from '../shared/proto.js';

export const DEFAULT_BUCKET = 'mlx_serving_workers';
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const DEFAULT_MISSES_MAX = 3;
/** Records expire after this many heartbeat intervals without a put. */
export const TTL_INTERVALS = 6;

export interface ModelVersion {
  readonly id: string;
  readonly version: string;
  readonly bytes: number;
  readonly path: string;
}

/** What a worker writes into the bucket. */
export interface WorkerRecord {
  readonly id: string;
  readonly address: string;
  readonly models: readonly ModelVersion[];
  readonly healthy: boolean;
  readonly draining: boolean;
  readonly maxConcurrent: number;
  readonly activeSequences: number;
  readonly kvUsedBytes: number;
  readonly kvCapacityBytes: number;
  readonly heartbeatIntervalMs: number;
  /** Heartbeats sent by this registration (1, 2, …). */
  readonly seq: number;
  readonly sentAtUnixMs: number;
  readonly startedAtUnixMs: number;
}

export interface RegistrationInfo {
  readonly id: string;
  /** How gateways reach the worker: "host:port" (another machine) or "unix:///path" (same machine). */
  readonly address: string;
  readonly status: () => WorkerStatusMsg;
  readonly models: () => readonly ModelInfoMsg[];
}

export interface NatsRegistrationOptions {
  readonly heartbeatIntervalMs?: number;
  readonly bucket?: string;
  readonly ttlMs?: number;
  readonly clock?: Clock;
  /** Called when a heartbeat cannot be written (NATS down); heartbeats continue. */
  readonly onError?: (err: Error) => void;
}

export interface NatsRegistration {
  readonly key: string;
  /** Heartbeats written so far. */
  readonly beats: number;
  /** Writes a heartbeat now (e.g. after a model was loaded). */
  heartbeat(): Promise<void>;
  /** Stops heartbeating without deregistering (tests: a hung or partitioned worker). */
  pause(): void;
  resume(): void;
  /** Deletes the record and closes the connection. */
  stop(): Promise<void>;
}

export function workerKey(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

async function openBucket(url: string, bucket: string, ttlMs: number): Promise<{ nc: NatsConnection; kv: KV }> {
  const nc = await connect({ servers: url, name: 'mlx-serving', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  try {
    const kv = await nc.jetstream().views.kv(bucket, { history: 1, ttl: ttlMs });
    return { nc, kv };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

/** Registers a worker and heartbeats every heartbeatIntervalMs; the first heartbeat is awaited. */
export async function startNatsRegistration(info: RegistrationInfo, natsUrl: string, opts: NatsRegistrationOptions = {}): Promise<NatsRegistration> {
  const intervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const clock = opts.clock ?? systemClock;
  const { nc, kv } = await openBucket(natsUrl, opts.bucket ?? DEFAULT_BUCKET, opts.ttlMs ?? intervalMs * TTL_INTERVALS);
  const key = workerKey(info.id);
  const startedAtUnixMs = clock.wallMs();
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const record = (): WorkerRecord => {
    const st = info.status();
    return {
      id: info.id, address: info.address,
      models: info.models().map((m) => ({ id: m.id, version: m.version, bytes: m.bytes, path: m.path })),
      healthy: st.healthy, draining: st.draining, maxConcurrent: st.maxConcurrent, activeSequences: st.activeSequences,
      kvUsedBytes: st.kvUsedBytes, kvCapacityBytes: st.kvCapacityBytes, heartbeatIntervalMs: intervalMs,
      seq: ++seq, sentAtUnixMs: clock.wallMs(), startedAtUnixMs,
    };
  };
  const beat = async () => {
    if (stopped) return;
    await kv.put(key, JSON.stringify(record()));
  };
  const schedule = () => {
    if (timer !== undefined || stopped) return;
    timer = setInterval(() => {
      beat().catch((err: unknown) => opts.onError?.(err as Error));
    }, intervalMs);
    timer.unref();
  };
  try {
    await beat();
  } catch (err) {
    await nc.close();
    throw err;
  }
  schedule();
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === 'reconnect' && timer !== undefined) beat().catch((err: unknown) => opts.onError?.(err as Error));
    }
  })().catch(() => undefined);
  return {
    key,
    get beats() {
      return seq;
    },
    heartbeat: beat,
    pause() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    resume: schedule,
    async stop() {
      if (stopped) return;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      stopped = true;
      try {
        await kv.delete(key);
      } catch (err) {
        opts.onError?.(err as Error);
      }
      await nc.drain().catch(() => nc.close());
    },
  };
}

// ───────────────────────────── the watcher ─────────────────────────────

export interface RegisteredWorker {
  readonly record: WorkerRecord;
  /** False once missesMax heartbeats were missed (or the worker reports itself unhealthy). */
  readonly healthy: boolean;
  /** Local wall time of the last heartbeat received. */
  readonly lastHeartbeatWallMs: number;
}

export type RegistryChange =
  | { readonly type: 'added'; readonly worker: RegisteredWorker }
  | { readonly type: 'updated'; readonly worker: RegisteredWorker }
  | { readonly type: 'unhealthy'; readonly worker: RegisteredWorker }
  | { readonly type: 'removed'; readonly id: string; readonly reason: 'deregistered' | 'expired' };

export interface NatsWatchOptions {
  readonly bucket?: string;
  /** Heartbeats missed before a worker is unhealthy. */
  readonly missesMax?: number;
  /** The bucket TTL used if this watcher creates the bucket; expiry uses TTL_INTERVALS × each worker's interval. */
  readonly ttlMs?: number;
  /** How often heartbeat ages are checked (default 250 ms). */
  readonly checkIntervalMs?: number;
  readonly clock?: Clock;
  readonly onError?: (err: Error) => void;
}

export interface NatsRegistryWatch {
  /** The workers known now. */
  workers(): RegisteredWorker[];
  /** Resolves once the bucket's current records have been delivered. */
  readonly initialized: Promise<void>;
  stop(): Promise<void>;
}

/** Watches the registry bucket; onChange gets every change (see the header for the kinds). */
export async function watchNatsRegistry(natsUrl: string, onChange: (change: RegistryChange) => void, opts: NatsWatchOptions = {}): Promise<NatsRegistryWatch> {
  const clock = opts.clock ?? systemClock;
  const missesMax = opts.missesMax ?? DEFAULT_MISSES_MAX;
  const { nc, kv } = await openBucket(natsUrl, opts.bucket ?? DEFAULT_BUCKET, opts.ttlMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS * TTL_INTERVALS);
  const known = new Map<string, { record: WorkerRecord; healthy: boolean; lastHeartbeatWallMs: number }>();
  const keyToId = new Map<string, string>();
  let stopped = false;
  const view = (id: string): RegisteredWorker => {
    const w = known.get(id)!;
    return { record: w.record, healthy: w.healthy, lastHeartbeatWallMs: w.lastHeartbeatWallMs };
  };
  const emit = (c: RegistryChange) => {
    try {
      onChange(c);
    } catch (err) {
      opts.onError?.(err as Error);
    }
  };

  const onEntry = (e: KvEntry, initial: boolean) => {
    if (e.operation !== 'PUT') {
      const id = keyToId.get(e.key);
      keyToId.delete(e.key);
      if (id !== undefined && known.delete(id)) emit({ type: 'removed', id, reason: 'deregistered' });
      return;
    }
    let rec: WorkerRecord;
    try {
      rec = e.json<WorkerRecord>();
      if (typeof rec.id !== 'string' || typeof rec.address !== 'string' || !Array.isArray(rec.models)) throw new Error('not a worker record');
    } catch (err) {
      opts.onError?.(new Error(`registry: bad record under ${e.key}: ${(err as Error).message}`));
      return;
    }
    // A record delivered by the initial scan may be old: date it by the server's write time.
    const nowWall = clock.wallMs();
    const seenAt = initial ? Math.min(nowWall, e.created.getTime()) : nowWall;
    keyToId.set(e.key, rec.id);
    const prev = known.get(rec.id);
    // Never backwards: a re-opened watch replays records older than the reconnect grace.
    const next = { record: rec, healthy: rec.healthy, lastHeartbeatWallMs: prev === undefined ? seenAt : Math.max(seenAt, prev.lastHeartbeatWallMs) };
    known.set(rec.id, next);
    if (prev === undefined) {
      emit({ type: 'added', worker: view(rec.id) });
      check(); // an old record may already be stale
      return;
    }
    if (prev.record.address !== rec.address || prev.healthy !== next.healthy || prev.record.draining !== rec.draining || !sameModels(prev.record.models, rec.models)) {
      emit({ type: next.healthy ? 'updated' : 'unhealthy', worker: view(rec.id) });
    }
  };

  let connected = true;
  const check = () => {
    if (!connected) return; // NATS unreachable: the view is frozen
    const nowWall = clock.wallMs();
    for (const [id, w] of known) {
      const ageMs = nowWall - w.lastHeartbeatWallMs;
      const interval = w.record.heartbeatIntervalMs > 0 ? w.record.heartbeatIntervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS;
      if (ageMs >= interval * TTL_INTERVALS) {
        known.delete(id);
        for (const [k, v] of keyToId) if (v === id) keyToId.delete(k);
        emit({ type: 'removed', id, reason: 'expired' });
      } else if (w.healthy && ageMs >= interval * missesMax) {
        w.healthy = false;
        emit({ type: 'unhealthy', worker: view(id) });
      }
    }
  };

  // Initial records, then live updates, on one iterator; nats.js calls initializedFn in order, after
  // the last initial record.
  let markInitialized: () => void = () => undefined;
  const initialized = new Promise<void>((r) => {
    markInitialized = r;
  });
  let initialPending = true;
  let iter: QueuedIterator<KvEntry> | undefined;
  const openWatch = async (): Promise<void> => {
    let pending = true;
    const it: QueuedIterator<KvEntry> = await kv.watch({
      key: '>',
      initializedFn: () => {
        pending = false;
        initialPending = false;
        markInitialized();
      },
    });
    if (stopped) {
      it.stop();
      return;
    }
    iter = it;
    void (async () => {
      try {
        for await (const e of it) {
          if (stopped || iter !== it) break;
          onEntry(e, pending || initialPending);
        }
      } catch (err) {
        if (!stopped && iter === it) opts.onError?.(err as Error);
      }
    })();
  };
  await openWatch();
  // Connection lost: freeze. Back: grace for every known worker, re-open the watch (retrying while
  // JetStream recovers), then run the clocks again.
  let reopening = false;
  const reopen = async () => {
    if (reopening) return;
    reopening = true;
    try {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          iter?.stop();
          iter = undefined;
          await openWatch();
          return;
        } catch (err) {
          if (attempt === 0) opts.onError?.(new Error(`registry: re-opening the watch after reconnect failed (retrying): ${(err as Error).message}`));
          await new Promise((r) => setTimeout(r, cappedExponentialDelayMs(attempt, 100, 2_000)).unref());
        }
      }
    } finally {
      reopening = false;
    }
  };
  void (async () => {
    for await (const st of nc.status()) {
      if (stopped) break;
      if (st.type === 'disconnect') {
        if (connected) opts.onError?.(new Error('registry: NATS connection lost; keeping the known workers until it is back'));
        connected = false;
      } else if (st.type === 'reconnect') {
        const nowWall = clock.wallMs();
        for (const w of known.values()) w.lastHeartbeatWallMs = Math.max(w.lastHeartbeatWallMs, nowWall);
        await reopen();
        const graceFrom = clock.wallMs();
        for (const w of known.values()) w.lastHeartbeatWallMs = Math.max(w.lastHeartbeatWallMs, graceFrom);
        connected = true;
      }
    }
  })().catch(() => undefined);
  const checkMs = opts.checkIntervalMs ?? 250;
  const timer = setInterval(check, checkMs);
  timer.unref();
  // Never wait forever for the initial scan (records may expire between status and watch).
  const initTimeout = setTimeout(() => {
    initialPending = false;
    markInitialized();
  }, 2_000);
  initTimeout.unref();

  return {
    workers: () => [...known.keys()].map(view),
    initialized,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(initTimeout);
      iter?.stop();
      await nc.drain().catch(() => nc.close());
    },
  };
}

function sameModels(a: readonly ModelVersion[], b: readonly ModelVersion[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.id !== b[i]!.id || a[i]!.version !== b[i]!.version) return false;
  return true;
}
