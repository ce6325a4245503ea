// Canary decisions shared between two real gateways through a real NATS KV bucket (canaryShared), with
// the official openai client: a canary rolled back by the gateway that saw it regress gets no more
// traffic from the other one, which saw none of it; a promotion made on one holds on both.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../shared/poll.js';
import { startNatsServer, type NatsServer } from '../registry/nats-server.js';
import { ADMIN_KEY, API_KEY, startHarness, type Harness } from '../gateway/test-harness.js';
import { canaryKey, parseDecisions } from './shared-canary.js';

describe('canary decisions shared between gateways (canaryShared, NATS KV)', () => {
  let nats: NatsServer;
  let a: Harness;
  let b: Harness;
  const gateway = (v2: Record<string, unknown>) =>
    startHarness({
      workers: [{ models: ['llama@v1'] }, { models: ['llama@v2'], ...v2 }],
      config: { auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY }, canaryShared: { url: nats.url, syncMs: 50 } },
      core: {
        batching: { type: 'none' },
        canary: { evaluateEveryMs: 1, minRequests: 8, maxLatencyRatio: 1.5, models: { llama: { stable: 'v1', versions: [{ version: 'v1', weight: 70 }, { version: 'v2', weight: 30 }] } } },
      },
    });
  const status = async (h: Harness) => (await (await h.fetch('/admin/canary', { key: ADMIN_KEY })).json()).models[0];
  const ask = async (h: Harness, n: number) => {
    const c = new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < n; i++) await c.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: `q ${i} one two` }], max_tokens: 4 });
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    a = await gateway({ firstTokenDelayMs: 150 }); // a's v2 worker regresses
    b = await gateway({});
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it("a canary rolled back on one gateway gets no more traffic from the other", async () => {
    expect((await status(b)).versions[1]).toMatchObject({ version: 'v2', weight: 30, role: 'canary' });
    await ask(a, 80);
    expect((await status(a)).versions[1]).toMatchObject({ weight: 0, role: 'rolled-back' });
    await until(async () => (await status(b)).versions[1].role === 'rolled-back', 10_000, 50, 'the gateways to agree');
    expect((await status(b)).versions[1]).toMatchObject({ version: 'v2', weight: 0 });
    const v2 = b.workers[1]!;
    const before = v2.counters.requests;
    await ask(b, 20);
    expect(v2.counters.requests).toBe(before);
  });

  it('a promotion made on one gateway holds on both', async () => {
    const r = await b.fetch('/admin/canary/llama/promote', { key: ADMIN_KEY, json: { version: 'v2' } });
    expect(r.status).toBe(200);
    await until(async () => (await status(a)).stable === 'v2', 10_000, 50, 'the gateways to agree');
    expect((await status(a)).versions.map((v: { role: string }) => v.role)).toEqual(['inactive', 'stable']);
  });

  it('the key and value layout', () => {
    expect(canaryKey('org/llama:8b')).toMatch(/^m\.[A-Za-z0-9_-]+$/);
    expect(parseDecisions('{"stable":"v1","rolledBack":["v3","v2"],"epoch":2}')).toEqual({ stable: 'v1', rolledBack: ['v2', 'v3'], epoch: 2 });
    for (const bad of ['{', '{"stable":1,"rolledBack":[],"epoch":0}', '{"stable":"v1","rolledBack":[1],"epoch":0}', '{"stable":"v1","rolledBack":[],"epoch":-1}', 'null']) expect(parseDecisions(bad)).toBeUndefined();
  });
});
