// Roles and the audit log through the real gateway (auth.operatorKeys, audit.path): an operator runs the
// admin API's operations but reads neither usage nor the audit log; a user key reaches no admin route;
// every change and every refused call is appended to the audit file, and the admin reads it back.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayCallAdmin } from './roles.js';
import { ADMIN_KEY, API_KEY, startHarness, type Harness } from './test-harness.js';

const OPERATOR = 'sk-operator-key-0001';
const dir = mkdtempSync(join(tmpdir(), 'gw-audit-'));
const auditPath = join(dir, 'logs', 'audit.jsonl');

describe('roles and the audit log (live gateway)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY, operatorKeys: [OPERATOR] }, audit: { path: auditPath } } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an operator runs operations but reads neither usage nor the audit log; a user key reaches no admin route', async () => {
    expect((await h.fetch('/admin/workers', { key: OPERATOR })).status).toBe(200);
    expect((await h.fetch('/admin/cache/flush', { key: OPERATOR, method: 'POST' })).status).toBe(200);
    expect((await h.fetch('/admin/usage', { key: OPERATOR })).status).toBe(403);
    expect((await h.fetch('/admin/audit', { key: OPERATOR })).status).toBe(403);
    const user = await h.fetch('/admin/workers', { key: API_KEY });
    expect(user.status).toBe(403);
    expect((await user.json()).error.code).toBe('forbidden');
    expect((await h.fetch('/v1/models', { key: OPERATOR })).status).toBe(200);
  });

  it('every change and every refused call is in the audit file and in GET /admin/audit (admin only)', async () => {
    const lines = readFileSync(auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.role, l.action, l.status])).toEqual([
      ['operator', 'POST /admin/cache/flush', 200],
      ['operator', 'GET /admin/usage', 403],
      ['operator', 'GET /admin/audit', 403],
      ['user', 'GET /admin/workers', 403],
    ]);
    expect(lines[0]!.who).toMatch(/^operator-[0-9a-f]{12}$/);
    expect(Date.parse(String(lines[0]!.at))).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(OPERATOR); // the key itself is never written
    const r = await h.fetch('/admin/audit?limit=2', { key: ADMIN_KEY });
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.persisted).toBe(true);
    expect(body.data.map((e: { action: string }) => e.action)).toEqual(['GET /admin/audit', 'GET /admin/workers']);
    expect((await h.fetch('/admin/audit?limit=0', { key: ADMIN_KEY })).status).toBe(400);
  });

  it('the rule itself', () => {
    expect(mayCallAdmin('admin', '/admin/usage')).toBe(true);
    expect(mayCallAdmin('operator', '/admin/workers/:id/drain')).toBe(true);
    expect(mayCallAdmin('operator', '/admin/audit')).toBe(false);
    expect(mayCallAdmin('user', '/admin/cache')).toBe(false);
    expect(mayCallAdmin(undefined, '/admin/cache')).toBe(false);
  });
});
