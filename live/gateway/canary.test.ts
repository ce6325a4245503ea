// Versions and canaries through the real gateway with the official openai client (core.canary, echo
// workers advertising `llama@v1` and `llama@v2`): the split by weight, a session kept on its version,
// automatic rollbacks of a slow canary and of a failing one (metric, GET /admin/canary), and the
// admin-only promotion (POST /admin/canary/:model/promote, audited).
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { ADMIN_KEY, API_KEY, startHarness, type Harness } from './test-harness.js';

const OPERATOR = 'sk-operator-key-0001';

function canaryHarness(canary: Record<string, unknown>, v2: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness({
    workers: [{ models: ['llama@v1'] }, { models: ['llama@v2'], ...v2 }],
    config: { auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY, operatorKeys: [OPERATOR] } },
    core: {
      batching: { type: 'none' },
      canary: { evaluateEveryMs: 1, ...canary, models: { llama: { stable: 'v1', versions: [{ version: 'v1', weight: 70 }, { version: 'v2', weight: 30 }] } } },
    },
  });
}

const client = (h: Harness) => new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });

/** n chat completions, `parallel` at a time; each prompt distinct (no dedupe or cache between them). */
async function ask(h: Harness, n: number, parallel: number, user?: string): Promise<void> {
  const c = client(h);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      const i = next++;
      const r = await c.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: `question ${i} ${user ?? ''} one two` }], max_tokens: 4, ...(user !== undefined && { user }) });
      expect(r.model).toBe('llama');
      expect(r.choices[0]!.message.content).toContain('question');
    }
  }));
}

describe('versions and canaries (live gateway, openai client)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('splits a model between its versions by weight and keeps a session on one version', async () => {
    h = await canaryHarness({ minRequests: 1_000_000 }); // no verdict: the split alone
    const [w1, w2] = h.workers as [Harness['workers'][0], Harness['workers'][0]];
    expect((await client(h).models.list()).data.map((m) => m.id)).toEqual(['llama', 'llama@v1', 'llama@v2']);
    await ask(h, 100, 4);
    expect(w1.counters.requests + w2.counters.requests).toBe(100);
    // 30 % to v2: 30 ± 15 of 100 (a binomial's sd is 4.6)
    expect(w2.counters.requests).toBeGreaterThanOrEqual(15);
    expect(w2.counters.requests).toBeLessThanOrEqual(45);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      const before = [w1.counters.requests, w2.counters.requests];
      await ask(h, 5, 1, user);
      const moved = [w1.counters.requests - before[0]!, w2.counters.requests - before[1]!];
      expect(moved.sort()).toEqual([0, 5]);
    }
    // an embedding of the canaried name is served by a version's worker too
    const before = w1.counters.embeds + w2.counters.embeds;
    const emb = await client(h).embeddings.create({ model: 'llama', input: 'hello' });
    expect(emb.data[0]!.embedding.length).toBeGreaterThan(0);
    expect(w1.counters.embeds + w2.counters.embeds).toBe(before + 1);
    const status = await (await h.fetch('/admin/canary', { key: OPERATOR })).json();
    expect(status.models[0]).toMatchObject({ model: 'llama', stable: 'v1', rollbacks: 0, versions: [{ version: 'v1', weight: 70, role: 'stable' }, { version: 'v2', weight: 30, role: 'canary' }] });
    expect(await h.metric(METRIC.canaryWeight, { model: 'llama', version: 'v2' })).toBe(30);
  });

  it('rolls back a canary whose TTFT regresses beyond the margin, and routes nothing more to it', async () => {
    h = await canaryHarness({ minRequests: 8, maxLatencyRatio: 1.5 }, { firstTokenDelayMs: 150 });
    const w2 = h.workers[1]!;
    await ask(h, 80, 8);
    const status = await (await h.fetch('/admin/canary', { key: OPERATOR })).json();
    const v2 = status.models[0].versions[1];
    expect(v2).toMatchObject({ version: 'v2', weight: 0, role: 'rolled-back' });
    expect(status.models[0].rollbacks).toBe(1);
    expect(await h.metric(METRIC.canaryRollbacks, { model: 'llama' })).toBe(1);
    expect(await h.metric(METRIC.canaryWeight, { model: 'llama', version: 'v2', role: 'rolled-back' })).toBe(0);
    const sentToV2 = w2.counters.requests;
    await ask(h, 30, 4);
    expect(w2.counters.requests).toBe(sentToV2);
  });

  it('rolls back a canary whose error rate regresses beyond the margin; its failed attempts are retried, every client served', async () => {
    h = await canaryHarness({ minRequests: 8, maxErrorRateDelta: 0.05 }, { failEvery: 2 });
    const w2 = h.workers[1]!;
    await ask(h, 80, 4); // ask() expects every answer to succeed
    const status = await (await h.fetch('/admin/canary', { key: OPERATOR })).json();
    expect(status.models[0].versions[1]).toMatchObject({ version: 'v2', weight: 0, role: 'rolled-back' });
    expect(status.models[0].versions[1].figures.errors).toBeGreaterThanOrEqual(4);
    expect(status.models[0].versions[0].figures.errors).toBe(0);
    const sentToV2 = w2.counters.requests;
    await ask(h, 20, 4);
    expect(w2.counters.requests).toBe(sentToV2);
  });

  it('promotes a version by an admin call only, audited; then all traffic goes to it', async () => {
    h = await canaryHarness({ minRequests: 1_000_000 });
    const w2 = h.workers[1]!;
    const promote = (key: string, version: string) => h!.fetch('/admin/canary/llama/promote', { key, json: { version } });
    expect((await promote(OPERATOR, 'v2')).status).toBe(403);
    expect((await promote(API_KEY, 'v2')).status).toBe(403);
    expect((await promote(ADMIN_KEY, 'v9')).status).toBe(404);
    const ok = await promote(ADMIN_KEY, 'v2');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ promoted: { model: 'llama', version: 'v2' }, status: { stable: 'v2', versions: [{ version: 'v1', weight: 0, role: 'inactive' }, { version: 'v2', weight: 100, role: 'stable' }] } });
    const before = w2.counters.requests;
    await ask(h, 20, 4);
    expect(w2.counters.requests - before).toBe(20);
    const audit = (await (await h.fetch('/admin/audit', { key: ADMIN_KEY })).json()).data as { action: string; status: number; role: string; params: { model: string; body?: { version: string } } }[];
    const entries = audit.filter((e) => e.action === 'POST /admin/canary/:model/promote').map((e) => [e.role, e.params.model, e.params.body?.version, e.status]);
    // a refused call is refused before its body is read: its route parameters only
    expect(entries).toEqual([['operator', 'llama', undefined, 403], ['user', 'llama', undefined, 403], ['admin', 'llama', 'v9', 404], ['admin', 'llama', 'v2', 200]]);
  });
});
