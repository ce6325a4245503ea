// Fairness between tenants through the real gateway (core.fairness, auth.tenants): one echo worker that
// takes one request at a time; tenant A sends a burst of 6, then tenant B one request, both with the
// official openai client. With fairness on, B's request is served after at most two of A's; with it
// off (the default), after all of them.
import { SignJWT } from 'jose';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator } from './auth.js';
import { JWT_SECRET, startHarness, type Harness } from './test-harness.js';

const KEY_A = 'sk-tenant-a-0001';
const KEY_B = 'sk-tenant-b-0001';

async function finishOrder(fairness: boolean): Promise<{ h: Harness; order: string[] }> {
  const h = await startHarness({
    workers: [{ maxConcurrent: 1, tokenDelayMs: 15 }],
    config: { auth: { apiKeys: [], adminKey: 'sk-admin-key-0001', tenants: { teamA: { apiKeys: [KEY_A] }, teamB: { apiKeys: [KEY_B] } } } },
    core: { admission: { maxConcurrentPerWorker: 1 }, batching: { type: 'none' }, fairness: { enabled: fairness } },
  });
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
  const a = client(KEY_A);
  const b = client(KEY_B);
  const order: string[] = [];
  const ask = (c: OpenAI, name: string) =>
    c.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: `question ${name} one two three four` }], max_tokens: 4 }).then((r) => {
      expect(r.choices[0]!.message.content).toBeTruthy();
      order.push(name);
    });
  const burst = Array.from({ length: 6 }, (_, i) => ask(a, `A${i}`));
  await new Promise((r) => setTimeout(r, 40)); // the burst is queued at the gateway behind A0
  await Promise.all([...burst, ask(b, 'B0')]);
  return { h, order };
}

describe('fairness between tenants (live gateway, openai client)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("on: tenant B's request is served ahead of tenant A's queued burst", async () => {
    const r = await finishOrder(true);
    h = r.h;
    expect(r.order).toHaveLength(7);
    expect(r.order.indexOf('B0')).toBeLessThanOrEqual(2);
  });

  it('off (the default): it waits behind the whole burst', async () => {
    const r = await finishOrder(false);
    h = r.h;
    expect(r.order.indexOf('B0')).toBeGreaterThanOrEqual(5);
  });

  it('a key of a tenant authenticates; tenants are validated', async () => {
    const r = await startHarness({ config: { auth: { apiKeys: [], tenants: { teamA: { apiKeys: [KEY_A] } } } } });
    h = r;
    expect((await r.fetch('/v1/models', { key: KEY_A })).status).toBe(200);
    expect((await r.fetch('/v1/models', { key: KEY_B })).status).toBe(401);
    await expect(startHarness({ config: { auth: { apiKeys: [], tenants: { 'bad name': { apiKeys: [KEY_A] } } } } })).rejects.toThrow(/auth\.tenants/);
  });
});

describe('tenant of a credential', () => {
  const auth = new Authenticator({ apiKeys: ['sk-plain-key-0001'], tenants: { teamA: { apiKeys: [KEY_A] } }, jwt: { hs256Secret: JWT_SECRET } });
  const jwt = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));

  it('a tenant key names its tenant; a plain key none', () => {
    expect(auth.checkKey(KEY_A)).toMatchObject({ ok: true, identity: { tenant: 'teamA' } });
    const plain = auth.checkKey('sk-plain-key-0001');
    expect(plain.ok && plain.identity.tenant).toBe(undefined);
  });

  it("a JWT's tenant claim counts only when it names a configured tenant", async () => {
    expect(await auth.authenticate(await jwt({ tenant: 'teamA' }))).toMatchObject({ ok: true, identity: { tenant: 'teamA' } });
    const other = await auth.authenticate(await jwt({ tenant: 'someone-else' }));
    expect(other.ok && other.identity.tenant).toBe(undefined);
  });
});

