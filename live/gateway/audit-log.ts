// The admin API's audit log (issue 19): every call under /admin/ that changes something (any method but
// GET), and every refused call, whoever made it — who (the credential's loggable id and role), what (the
// method, the route and its parameters), when (UTC) and the result (the HTTP status). Appended as one JSON
// line per entry to audit.path (O_APPEND: entries are only ever added) when configured; the last
// RECENT_MAX entries of this process are also kept for GET /admin/audit.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AuditEntry {
  readonly at: string;
  readonly who: string;
  readonly role: string;
  readonly action: string;
  readonly params: unknown;
  readonly status: number;
}

const RECENT_MAX = 1000;
const PARAMS_BYTES_MAX = 2048;

export class AuditLog {
  private readonly recent: AuditEntry[] = [];

  constructor(private readonly path: string | undefined) {
    if (path !== undefined) mkdirSync(dirname(path), { recursive: true });
  }

  write(e: Omit<AuditEntry, 'params'> & { readonly params: unknown }): void {
    let params = e.params;
    const json = JSON.stringify(params ?? null);
    if (json.length > PARAMS_BYTES_MAX) params = { truncated: json.slice(0, PARAMS_BYTES_MAX) };
    const entry: AuditEntry = { ...e, params };
    this.recent.push(entry);
    if (this.recent.length > RECENT_MAX) this.recent.shift();
    if (this.path !== undefined) appendFileSync(this.path, `${JSON.stringify(entry)}\n`, { flag: 'a' });
  }

  /** The last `limit` entries of this process, oldest first. */
  last(limit: number): AuditEntry[] {
    return this.recent.slice(-limit);
  }
}
