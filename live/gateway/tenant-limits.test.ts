// Per-tenant rate limits through the real gateway (core.rateLimit.tenants, auth.tenants), with the
// official openai client: a tenant's keys share its limit; another tenant's key is not held by it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './test-harness.js';

const A1 = 'sk-tenant-a-0001';
const A2 = 'sk-tenant-a-0002';
const B1 = 'sk-tenant-b-0001';

describe('tenant rate limits (live gateway, openai client)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      config: { auth: { apiKeys: [], adminKey: 'sk-admin-key-0001', tenants: { teamA: { apiKeys: [A1, A2] }, teamB: { apiKeys: [B1] } } } },
      core: { rateLimit: { enabled: true, requestsPerMinute: 100, tenants: { teamA: { requestsPerMinute: 2, tokensPerMinute: 100_000 } } } },
    });
  });
  afterAll(() => h.close());

  const ask = (key: string, n: number) =>
    new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: `hello ${n}` }], max_tokens: 3 });

  it("the tenant's two keys share its 2 requests a minute: the third gets a 429 rate_limit_exceeded with Retry-After", async () => {
    await ask(A1, 1);
    await ask(A2, 2);
    const err = await ask(A1, 3).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect((e.error as { type?: string }).type).toBeTruthy();
  });

  it("another tenant's key is not held by it", async () => {
    const r = await ask(B1, 4);
    expect(r.choices[0]!.message.content).toBeTruthy();
  });
});
