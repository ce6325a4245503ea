// Usage and budgets across several gateways (usage.shared, issue 19): each gateway keeps its own ledger
// (usage-ledger.ts) and publishes its own counts to a NATS JetStream KV bucket, one key per gateway,
// tenant, model and UTC day, which only that gateway writes; it watches the bucket for the others'.
// A tenant's total is the sum over gateways: a grow-only counter per gateway, so no two gateways ever
// write the same key and no update needs a compare-and-swap. A budget is then enforced on the fleet's
// total, late by at most one sync interval of each other gateway (usage.shared.syncMs, plus
// usage.flushMs): a tenant can overshoot its budget by what the fleet serves in that time.
//
// Keys: `d.<day>.<tenant>.<model>.<gateway>`, each name base64url (KV keys allow [-/_=.A-Za-z0-9]);
// values: JSON {requests, promptTokens, completionTokens}, absolute for the day (a re-put is idempotent).
// A restarted gateway with the same gatewayId and no usage.path reads its own keys back first, so its
// counts continue instead of being overwritten by smaller ones.
import { connect, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import { watchFromCurrent } from '../shared/kv-watch.js';
import type { SharedUsageConfig } from '../shared/config.js';
import type { FleetUsage, UsageCounts, UsageLedger } from './usage-ledger.js';

interface Published extends UsageCounts {
  readonly gateway: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string): string => Buffer.from(s, 'base64url').toString('utf8');

export function usageKey(gateway: string, r: Pick<UsageCounts, 'day' | 'tenant' | 'model'>): string {
  return `d.${r.day}.${b64(r.tenant)}.${b64(r.model)}.${b64(gateway)}`;
}

/** The key's row, or undefined for a key or value this layout does not know (written by something else). */
export function parseUsageEntry(key: string, value: string): Published | undefined {
  const m = /^d\.(\d{4}-\d{2}-\d{2})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(key);
  if (m === null) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined);
  const requests = n(o?.requests);
  const promptTokens = n(o?.promptTokens);
  const completionTokens = n(o?.completionTokens);
  if (requests === undefined || promptTokens === undefined || completionTokens === undefined) return undefined;
  return { day: m[1]!, tenant: unb64(m[2]!), model: unb64(m[3]!), gateway: unb64(m[4]!), requests, promptTokens, completionTokens };
}

export class SharedUsage implements FleetUsage {
  /** Every row in the bucket by key, this gateway's included. */
  private readonly rows = new Map<string, Published>();
  /** What this gateway last put under each of its keys (a row is re-put only when it changed). */
  private readonly published = new Map<string, string>();
  /** Tokens per tenant of the other gateways in `othersMonth`; rebuilt when the rows change. */
  private othersMonth = '';
  private othersByTenant: Map<string, number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watch: QueuedIterator<KvEntry> | undefined;
  private syncing: Promise<void> | undefined;

  private constructor(private readonly cfg: SharedUsageConfig, private readonly nc: NatsConnection, private readonly kv: KV, private readonly ledger: UsageLedger, private readonly wallMs: () => number) {}

  /** Connects, reads the bucket (this gateway's own rows back into the ledger when it lacks them), then publishes and watches. */
  static async start(cfg: SharedUsageConfig, ledger: UsageLedger, wallMs: () => number = Date.now): Promise<SharedUsage> {
    const nc = await connect({ servers: cfg.url, name: `mlx-serving-usage-${cfg.gatewayId}`, maxReconnectAttempts: -1 });
    try {
      const kv = await nc.jetstream().views.kv(cfg.bucket, { history: 1 });
      const shared = new SharedUsage(cfg, nc, kv, ledger, wallMs);
      await shared.openWatch();
      const own = [...shared.rows.values()].filter((r) => r.gateway === cfg.gatewayId);
      await ledger.importRows(own);
      for (const r of own) shared.published.set(usageKey(cfg.gatewayId, r), JSON.stringify(counts(r)));
      ledger.attachFleet(shared);
      await shared.sync();
      shared.timer = setInterval(() => void shared.sync().catch(() => undefined), cfg.syncMs);
      shared.timer.unref();
      return shared;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  othersMonthTokens(tenant: string, month: string): number {
    if (this.othersByTenant === undefined || this.othersMonth !== month) {
      const by = new Map<string, number>();
      for (const r of this.rows.values()) {
        if (r.gateway === this.cfg.gatewayId || !r.day.startsWith(month)) continue;
        by.set(r.tenant, (by.get(r.tenant) ?? 0) + r.promptTokens + r.completionTokens);
      }
      this.othersByTenant = by;
      this.othersMonth = month;
    }
    return this.othersByTenant.get(tenant) ?? 0;
  }

  *otherRows(): Iterable<UsageCounts> {
    for (const r of this.rows.values()) if (r.gateway !== this.cfg.gatewayId) yield r;
  }

  /** Puts this gateway's rows of this month and the last that changed since the last sync. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const now = new Date(this.wallMs());
        const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
        for (const r of await this.ledger.ownRows({ from })) {
          const key = usageKey(this.cfg.gatewayId, r);
          const value = JSON.stringify(counts(r));
          if (this.published.get(key) === value) continue;
          await this.kv.put(key, value);
          this.published.set(key, value);
        }
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** A last sync, then the watch and the connection closed. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sync().catch(() => undefined);
    this.watch?.stop();
    await this.nc.drain().catch(() => undefined);
  }

  private async openWatch(): Promise<void> {
    this.watch = await watchFromCurrent(this.kv, 'd.>', (e) => this.onEntry(e));
  }

  private onEntry(e: KvEntry): void {
    this.othersByTenant = undefined;
    if (e.operation !== 'PUT') {
      this.rows.delete(e.key);
      return;
    }
    const r = parseUsageEntry(e.key, e.string());
    if (r === undefined) this.rows.delete(e.key);
    else this.rows.set(e.key, r);
  }
}

function counts(r: UsageCounts): { requests: number; promptTokens: number; completionTokens: number } {
  return { requests: r.requests, promptTokens: r.promptTokens, completionTokens: r.completionTokens };
}
