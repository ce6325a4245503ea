// Usage accounting per tenant (issue 19): requests, prompt and completion tokens by tenant, model and
// UTC day, in an embedded SQLite database (sql.js: SQLite compiled to WebAssembly, so it installs and
// runs on any CPU without a native build), persisted to `usage.path` when one is configured and kept in
// memory otherwise. The hot path only adds to an in-memory delta; a timer (usage.flushMs) folds the
// deltas into the database and, when dirty, writes the file atomically (a temporary file, then rename).
// Counted as served: what a response's `usage` says, cache-served answers included. The cost of a row is
// priced from usage.costs (per million tokens, in whatever unit the table is written in).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import initSqlJs, { type Database } from 'sql.js';
import type { UsageConfig } from '../shared/config.js';


/** Counts for a tenant, model and UTC day (a row of the database; what usage.shared publishes per gateway). */
export interface UsageCounts {
  readonly tenant: string;
  readonly model: string;
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface UsageRow extends UsageCounts {
  /** Priced from usage.costs; null when the model has no price. */
  readonly cost: number | null;
}

export interface UsageFilter {
  readonly tenant?: string;
  readonly from?: string;
  readonly to?: string;
}

const DAY_MS = 86_400_000;

/** The other gateways' usage (live/usage/shared-usage.ts), when usage.shared is configured. */
export interface FleetUsage {
  /** Tokens the other gateways counted for the tenant in the UTC month `month` (YYYY-MM). */
  othersMonthTokens(tenant: string, month: string): number;
  /** The other gateways' rows. */
  otherRows(): Iterable<UsageCounts>;
}

/** The tenant name of requests whose credential belongs to none. */
export const DEFAULT_TENANT = 'default';

type Delta = { -readonly [K in keyof UsageCounts]: UsageCounts[K] };

const SCHEMA = `CREATE TABLE IF NOT EXISTS usage (
  tenant TEXT NOT NULL, model TEXT NOT NULL, day TEXT NOT NULL,
  requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  PRIMARY KEY (tenant, model, day))`;
const UPSERT = `INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, model, day) DO UPDATE SET
  requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens`;

export class UsageLedger {
  private pending = new Map<string, Delta>();
  /** Tokens per tenant in the current UTC month (for budgets), from the database at open and then counted. */
  private month = '';
  private monthTokens = new Map<string, number>();
  /** The UTC day of the last record and the wall-clock range it covers (the hot path formats a date once a day). */
  private day = '';
  private dayStartMs = 0;
  private dayEndMs = -1;
  private db: Promise<Database> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private fleet: FleetUsage | undefined;

  constructor(private readonly cfg: UsageConfig, private readonly wallMs: () => number = Date.now) {}

  /** From now on budgets and queries count the other gateways' usage too. */
  attachFleet(fleet: FleetUsage): void {
    this.fleet = fleet;
  }

  /** Opens the database (reading the file when it exists) and starts the flush timer. */
  async open(): Promise<void> {
    const db = await this.database();
    this.month = monthOf(this.wallMs());
    const res = db.exec('SELECT tenant, SUM(prompt_tokens + completion_tokens) FROM usage WHERE day >= ? GROUP BY tenant', [`${this.month}-01`]);
    for (const [tenant, tokens] of res[0]?.values ?? []) this.monthTokens.set(String(tenant), Number(tokens));
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.cfg.flushMs);
    this.timer.unref();
  }

  /** Adds one served request (the hot path: a map update). */
  record(tenant: string | undefined, model: string, promptTokens: number, completionTokens: number): void {
    const t = tenant ?? DEFAULT_TENANT;
    const day = this.dayOf(this.wallMs());
    this.monthTokens.set(t, (this.monthTokens.get(t) ?? 0) + promptTokens + completionTokens);
    const key = `${t}\u0000${model}\u0000${day}`;
    let d = this.pending.get(key);
    if (d === undefined) this.pending.set(key, (d = { tenant: t, model, day, requests: 0, promptTokens: 0, completionTokens: 0 }));
    d.requests++;
    d.promptTokens += promptTokens;
    d.completionTokens += completionTokens;
  }

  /** Tokens `tenant` has used this UTC month (prompt + completion), the other gateways' included (usage.shared). */
  tokensThisMonth(tenant: string | undefined): number {
    this.dayOf(this.wallMs()); // rolls the month when a new one has begun
    const t = tenant ?? DEFAULT_TENANT;
    return (this.monthTokens.get(t) ?? 0) + (this.fleet?.othersMonthTokens(t, this.month) ?? 0);
  }

  private dayOf(wallMs: number): string {
    if (wallMs < this.dayStartMs || wallMs > this.dayEndMs) {
      this.dayStartMs = wallMs - (wallMs % DAY_MS);
      this.dayEndMs = this.dayStartMs + DAY_MS - 1;
      this.day = new Date(wallMs).toISOString().slice(0, 10);
      this.rollMonth(this.day.slice(0, 7));
    }
    return this.day;
  }

  private rollMonth(month: string): void {
    if (month === this.month) return;
    this.month = month;
    this.monthTokens = new Map();
  }

  /** Rows by day, tenant and model (pending deltas included), priced; the other gateways' added in (usage.shared). */
  async query(f: UsageFilter = {}): Promise<UsageRow[]> {
    const own = await this.ownRows(f);
    if (this.fleet === undefined) return own;
    const sum = new Map<string, Delta>();
    const add = (r: UsageCounts) => {
      if ((f.tenant !== undefined && r.tenant !== f.tenant) || (f.from !== undefined && r.day < f.from) || (f.to !== undefined && r.day > f.to)) return;
      const key = `${r.day}\u0000${r.tenant}\u0000${r.model}`;
      const s = sum.get(key);
      if (s === undefined) sum.set(key, { tenant: r.tenant, model: r.model, day: r.day, requests: r.requests, promptTokens: r.promptTokens, completionTokens: r.completionTokens });
      else {
        s.requests += r.requests;
        s.promptTokens += r.promptTokens;
        s.completionTokens += r.completionTokens;
      }
    };
    for (const r of own) add(r);
    for (const r of this.fleet.otherRows()) add(r);
    return [...sum.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => ({ ...r, cost: this.costOf(r.model, r.promptTokens, r.completionTokens) }));
  }

  /** Adds rows of this gateway that the database does not hold yet (usage.shared: this gateway's counts read back from the bucket after a restart without a file). */
  async importRows(rows: Iterable<UsageCounts>): Promise<void> {
    await this.flush();
    const db = await this.database();
    const month = monthOf(this.wallMs());
    for (const r of rows) {
      const have = db.exec('SELECT 1 FROM usage WHERE tenant = ? AND model = ? AND day = ?', [r.tenant, r.model, r.day]);
      if (have.length > 0) continue;
      db.run('INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?)', [r.tenant, r.model, r.day, r.requests, r.promptTokens, r.completionTokens]);
      if (r.day.startsWith(month) && month === this.month) this.monthTokens.set(r.tenant, (this.monthTokens.get(r.tenant) ?? 0) + r.promptTokens + r.completionTokens);
    }
  }

  private costOf(model: string, promptTokens: number, completionTokens: number): number | null {
    const price = this.cfg.costs[model];
    return price === undefined ? null : (promptTokens * price.promptPerMillionTokens + completionTokens * price.completionPerMillionTokens) / 1e6;
  }

  /** This gateway's rows only (pending deltas included), priced. */
  async ownRows(f: UsageFilter = {}): Promise<UsageRow[]> {
    await this.flush();
    const db = await this.database();
    const stmt = db.prepare(`SELECT tenant, model, day, requests, prompt_tokens, completion_tokens FROM usage
      WHERE (? IS NULL OR tenant = ?) AND (? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?) ORDER BY day, tenant, model`);
    const t = f.tenant ?? null;
    const from = f.from ?? null;
    const to = f.to ?? null;
    stmt.bind([t, t, from, from, to, to]);
    const rows: UsageRow[] = [];
    try {
      while (stmt.step()) {
        const [tenant, model, day, requests, promptTokens, completionTokens] = stmt.get() as [string, string, string, number, number, number];
        rows.push({ tenant, model, day, requests, promptTokens, completionTokens, cost: this.costOf(model, promptTokens, completionTokens) });
      }
    } finally {
      stmt.free();
    }
    return rows;
  }

  /** Folds the pending deltas into the database and writes the file (when configured and dirty). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const db = await this.database();
    db.run('BEGIN');
    for (const d of batch) db.run(UPSERT, [d.tenant, d.model, d.day, d.requests, d.promptTokens, d.completionTokens]);
    db.run('COMMIT');
    const path = this.cfg.path;
    if (path !== undefined) {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, db.export());
      renameSync(tmp, path);
    }
  }

  /** Flushes and stops the timer (graceful stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.flush();
  }

  private database(): Promise<Database> {
    this.db ??= initSqlJs().then((SQL) => {
      const path = this.cfg.path;
      const db = path !== undefined && existsSync(path) ? new SQL.Database(readFileSync(path)) : new SQL.Database();
      db.run(SCHEMA);
      return db;
    });
    return this.db;
  }
}

function monthOf(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 7);
}
