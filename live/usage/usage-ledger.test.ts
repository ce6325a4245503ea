import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT, UsageLedger } from './usage-ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY1 = Date.parse('2026-12-01T10:00:00Z');
const DAY2 = Date.parse('2026-12-02T23:59:59Z');

describe('UsageLedger', () => {
  it('sums requests and tokens per tenant, model and UTC day, prices them, and filters', async () => {
    let now = DAY1;
    const l = new UsageLedger({ flushMs: 60_000, costs: { m: { promptPerMillionTokens: 1, completionPerMillionTokens: 2 } }, budgets: {} }, () => now);
    await l.open();
    l.record('a', 'm', 100, 10);
    l.record('a', 'm', 50, 5);
    l.record(undefined, 'other', 7, 3);
    now = DAY2;
    l.record('a', 'm', 1, 1);
    expect(await l.query()).toEqual([
      { tenant: 'a', model: 'm', day: '2026-12-01', requests: 2, promptTokens: 150, completionTokens: 15, cost: (150 + 30) / 1e6 },
      { tenant: DEFAULT_TENANT, model: 'other', day: '2026-12-01', requests: 1, promptTokens: 7, completionTokens: 3, cost: null },
      { tenant: 'a', model: 'm', day: '2026-12-02', requests: 1, promptTokens: 1, completionTokens: 1, cost: 3 / 1e6 },
    ]);
    expect((await l.query({ tenant: 'a', from: '2026-12-02' })).map((r) => r.day)).toEqual(['2026-12-02']);
    expect(await l.query({ to: '2026-11-30' })).toEqual([]);
    await l.close();
  });

  it('persists to its file: a new ledger on the same path starts from what the last one wrote', async () => {
    const path = join(dir, 'nested', 'usage.sqlite');
    const first = new UsageLedger({ path, flushMs: 60_000, costs: {}, budgets: {} }, () => DAY1);
    await first.open();
    first.record('a', 'm', 10, 1);
    await first.close();
    const second = new UsageLedger({ path, flushMs: 60_000, costs: {}, budgets: {} }, () => DAY1);
    await second.open();
    expect(second.tokensThisMonth('a')).toBe(11); // this month's tokens read back from the file
    second.record('a', 'm', 10, 1);
    expect(second.tokensThisMonth('a')).toBe(22);
    expect(second.tokensThisMonth('b')).toBe(0);
    expect(await second.query()).toMatchObject([{ tenant: 'a', requests: 2, promptTokens: 20, completionTokens: 2 }]);
    await second.close();
  });
});

describe('UsageLedger: tokens this month', () => {
  it('counts per tenant and starts again with a new UTC month', async () => {
    let now = Date.parse('2026-11-30T23:59:00Z');
    const l = new UsageLedger({ flushMs: 60_000, costs: {}, budgets: {} }, () => now);
    await l.open();
    l.record('a', 'm', 5, 5);
    expect(l.tokensThisMonth('a')).toBe(10);
    now = Date.parse('2026-12-01T00:01:00Z');
    expect(l.tokensThisMonth('a')).toBe(0);
    l.record(undefined, 'm', 1, 2);
    expect(l.tokensThisMonth(undefined)).toBe(3);
    await l.close();
  });
});

