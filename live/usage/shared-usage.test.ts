// Usage and budgets across gateways (usage.shared) through two real gateways sharing a real NATS
// JetStream KV bucket, with the official openai client: a tenant's budget counts what both gateways
// served, GET /admin/usage answers the fleet's sums on either, and a gateway restarted with the same
// gatewayId and no usage file continues from its own counts in the bucket.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../shared/poll.js';
import { startNatsServer, type NatsServer } from '../registry/nats-server.js';
import { ADMIN_KEY, startHarness, type Harness } from '../gateway/test-harness.js';
import { parseUsageEntry, usageKey } from './shared-usage.js';

const A = 'sk-tenant-a-0001';
const B = 'sk-tenant-b-0001';

describe('usage across gateways through NATS KV (usage.shared)', () => {
  let nats: NatsServer;
  const gws: Harness[] = [];
  const start = (gatewayId: string) =>
    startHarness({
      config: {
        auth: { apiKeys: [], adminKey: ADMIN_KEY, tenants: { teamA: { apiKeys: [A] }, teamB: { apiKeys: [B] } } },
        usage: { flushMs: 20, budgets: { teamB: { tokensPerMonth: 30 } }, shared: { url: nats.url, gatewayId, syncMs: 50 } },
      },
    });
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    for (const g of gws) await g.close().catch(() => undefined);
    await nats.stop();
  });

  const ask = (h: Harness, key: string, content: string) =>
    new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'echo', messages: [{ role: 'user', content }], max_tokens: 8 });
  const usage = async (h: Harness) => (await h.fetch('/admin/usage', { key: ADMIN_KEY })).json() as Promise<{ fleet: boolean; data: { tenant: string; requests: number; promptTokens: number; completionTokens: number }[] }>;
  const rowOf = async (h: Harness, tenant: string) => (await usage(h)).data.find((r) => r.tenant === tenant);

  it('sums both gateways in GET /admin/usage on either', async () => {
    gws.push(await start('gw-1'), await start('gw-2'));
    const [g1, g2] = gws as [Harness, Harness];
    const r1 = await ask(g1, A, 'one two three');
    const r2 = await ask(g2, A, 'four five');
    const tokens = [r1, r2].reduce((n, r) => n + r.usage!.prompt_tokens + r.usage!.completion_tokens, 0);
    for (const g of [g1, g2]) await until(async () => (await rowOf(g, 'teamA'))?.requests === 2, 10_000, 50, 'the gateways to agree');
    const row = (await rowOf(g1, 'teamA'))!;
    expect(row.promptTokens + row.completionTokens).toBe(tokens);
    expect((await usage(g2)).fleet).toBe(true);
  });

  it("a tenant's monthly budget counts what the whole fleet served", async () => {
    const [g1, g2] = gws as [Harness, Harness];
    let served = 0;
    while (served < 30) {
      const r = await ask(g1, B, 'alpha beta gamma delta');
      served += r.usage!.prompt_tokens + r.usage!.completion_tokens;
    }
    // g2 served teamB nothing: it refuses once it has seen g1's counts.
    await until(async () => (await ask(g2, B, 'x').then(() => false, (e: unknown) => e instanceof OpenAI.RateLimitError)), 10_000, 50, 'the gateways to agree');
    const err = await ask(g2, B, 'y').then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect((await ask(g2, A, 'teamA is under no budget')).choices).toHaveLength(1);
  });

  it('a gateway restarted with the same gatewayId and no usage file continues from its counts in the bucket', async () => {
    const g2 = gws[1]!;
    const before = (await usage(g2)).data;
    await g2.close();
    const again = await start('gw-2');
    gws[1] = again;
    expect((await usage(again)).data).toEqual(before);
  });

  it('the key layout round-trips names KV keys do not allow', () => {
    const key = usageKey('gw:1', { day: '2026-12-03', tenant: 'team.a', model: 'mlx-community/Qwen3:8b' });
    expect(key).toMatch(/^[-/_=.A-Za-z0-9]+$/);
    expect(parseUsageEntry(key, JSON.stringify({ requests: 1, promptTokens: 2, completionTokens: 3 }))).toEqual({
      day: '2026-12-03', tenant: 'team.a', model: 'mlx-community/Qwen3:8b', gateway: 'gw:1', requests: 1, promptTokens: 2, completionTokens: 3,
    });
    expect(parseUsageEntry(key, '{"requests":-1,"promptTokens":2,"completionTokens":3}')).toBeUndefined();
    expect(parseUsageEntry('other.key', '{}')).toBeUndefined();
  });
});
