// Canary decisions shared between gateways (canaryShared, issue 19). Each gateway judges its canaries on
// its own traffic (core/canary/); what it decides — a rollback, or an admin's promotion — is written to
// a NATS JetStream KV bucket, one key per canaried model, and every gateway watching the bucket applies
// it (GatewayCore.applyCanaryDecisions). So a canary rolled back by one gateway gets no more traffic from
// any, and a promotion made on one gateway holds on all.
//
// A key holds the model's decisions (core's CanaryDecisions: the stable version, the versions rolled
// back, the promotion epoch). A gateway never overwrites blindly: it reads the key, merges its own
// decisions in (core's mergeDecisions: a later promotion wins; at one epoch rollbacks add up), and
// writes with the revision it read (compare-and-swap); a conflict means another gateway wrote first,
// so it reads and merges again. Merging is commutative, so every gateway ends with the same decisions
// whatever the order of their writes. Every `syncMs` a gateway compares each canaried model's
// decisions with what the bucket holds and writes only when its own add something.
import { connect, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import { watchFromCurrent } from '../shared/kv-watch.js';
import { mergeDecisions, type CanaryDecisions, type GatewayCore } from '../../core/index.js';
import type { CanarySharedConfig } from '../shared/config.js';

export const canaryKey = (model: string): string => `m.${Buffer.from(model, 'utf8').toString('base64url')}`;

/** The decisions in a key's value, or undefined when it is not this layout (written by something else). */
export function parseDecisions(value: string): CanaryDecisions | undefined {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  const o = v as Record<string, unknown> | null;
  if (typeof o?.stable !== 'string' || !Number.isSafeInteger(o.epoch) || (o.epoch as number) < 0) return undefined;
  if (!Array.isArray(o.rolledBack) || !o.rolledBack.every((x) => typeof x === 'string')) return undefined;
  return { stable: o.stable, epoch: o.epoch as number, rolledBack: [...(o.rolledBack as string[])].sort() };
}

const same = (a: CanaryDecisions, b: CanaryDecisions): boolean =>
  a.stable === b.stable && a.epoch === b.epoch && a.rolledBack.length === b.rolledBack.length && a.rolledBack.every((x, i) => x === b.rolledBack[i]);

export interface SharedCanaryLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export class SharedCanary {
  private timer: NodeJS.Timeout | undefined;
  private watch: QueuedIterator<KvEntry> | undefined;
  private syncing: Promise<void> | undefined;
  /** Per model, this gateway's decisions (JSON) as they were when the bucket was last seen to hold them. */
  private readonly shared = new Map<string, string>();

  private constructor(private readonly nc: NatsConnection, private readonly kv: KV, private readonly core: GatewayCore, private readonly models: readonly string[], private readonly log: SharedCanaryLog) {}

  /** Connects, applies what the bucket holds, then watches it and shares this gateway's decisions every syncMs. */
  static async start(cfg: CanarySharedConfig, core: GatewayCore, models: readonly string[], log: SharedCanaryLog): Promise<SharedCanary> {
    const nc = await connect({ servers: cfg.url, name: 'mlx-serving-canary', maxReconnectAttempts: -1 });
    try {
      const kv = await nc.jetstream().views.kv(cfg.bucket, { history: 1 });
      const shared = new SharedCanary(nc, kv, core, models, log);
      await shared.openWatch();
      await shared.sync();
      shared.timer = setInterval(() => void shared.sync().catch((err: unknown) => log.warn({ err }, 'canary decisions not shared (will retry)')), cfg.syncMs);
      shared.timer.unref();
      return shared;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** Writes each model's decisions where they add to what the bucket holds (merged, compare-and-swap). */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        for (const model of this.models) await this.share(model);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sync().catch(() => undefined);
    this.watch?.stop();
    await this.nc.drain().catch(() => undefined);
  }

  private async share(model: string): Promise<void> {
    const key = canaryKey(model);
    // Unchanged since they were last in the bucket: nothing to do (a later write by another gateway was
    // merged with the bucket's value under compare-and-swap, so it still holds ours).
    const mine = this.core.canaryDecisions(model);
    if (mine === undefined || this.shared.get(model) === JSON.stringify(mine)) return;
    let last: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const own = this.core.canaryDecisions(model);
      if (own === undefined) return;
      const entry = await this.kv.get(key);
      const stored = entry !== null && entry.operation === 'PUT' ? parseDecisions(entry.string()) : undefined;
      const merged = stored === undefined ? own : mergeDecisions(stored, own);
      if (stored !== undefined && same(merged, stored)) {
        this.shared.set(model, JSON.stringify(own)); // the bucket already holds ours
        return;
      }
      try {
        if (entry === null) await this.kv.create(key, JSON.stringify(merged));
        else await this.kv.update(key, JSON.stringify(merged), entry.revision);
        this.shared.set(model, JSON.stringify(own));
        return;
      } catch (err) {
        last = err; // another gateway wrote first (wrong last sequence): read, merge and try again
      }
    }
    throw new Error(`canary decisions of ${model}: 10 conflicting writes in a row (${(last as Error).message})`);
  }

  private async openWatch(): Promise<void> {
    this.watch = await watchFromCurrent(this.kv, 'm.>', (e) => this.onEntry(e));
  }

  private onEntry(e: KvEntry): void {
    if (e.operation !== 'PUT') return;
    const d = parseDecisions(e.string());
    if (d === undefined) return;
    for (const model of this.models) {
      if (canaryKey(model) !== e.key) continue;
      if (this.core.applyCanaryDecisions(model, d)) this.log.info({ model, stable: d.stable, rolledBack: d.rolledBack, epoch: d.epoch }, `canary decisions of ${model} taken from another gateway`);
    }
  }
}
