// The admin API and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { ADMIN_KEY, chatBody, startHarness, until, type Harness } from './test-harness.js';

describe('admin API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: [{}, {}] });
  });
  afterAll(() => h.close());
  const admin = (path: string, init: Parameters<Harness['fetch']>[1] = {}) => h.fetch(path, { key: ADMIN_KEY, ...init });

  it('reports cache stats and flushes the caches', async () => {
    await h.fetch('/v1/chat/completions', { json: chatBody('fill the cache') }).then((r) => r.text());
    const stats = await (await admin('/admin/cache')).json();
    expect(stats.responseCache.size).toBe(1);
    expect(stats.dedupe).toHaveProperty('hits');
    const flushed = await (await admin('/admin/cache/flush', { method: 'POST' })).json();
    expect(flushed.flushed.cache).toBe(1);
    expect((await (await admin('/admin/cache')).json()).responseCache.size).toBe(0);
  });

  it('lists workers with health and breaker state', async () => {
    const { workers } = await (await admin('/admin/workers')).json();
    expect(workers.map((w: { id: string }) => w.id)).toEqual(['w1', 'w2']);
    expect(workers[0]).toMatchObject({ streamConnected: true, status: { healthy: true, breaker: 'closed', models: ['echo'] } });
  });

  it('drains a worker: no new work goes to it', async () => {
    const r = await admin('/admin/workers/w1/drain', { method: 'POST' });
    expect(r.status).toBe(200);
    expect((await r.json()).draining).toBe(true);
    const before = h.workers[0]!.counters.requests;
    for (let i = 0; i < 6; i++) await h.fetch('/v1/chat/completions', { json: chatBody(`while draining ${i}`, { temperature: 1 }) }).then((x) => x.text());
    expect(h.workers[0]!.counters.requests).toBe(before);
    await admin('/admin/workers/w1/drain', { method: 'POST', json: { drain: false } });
    await until(async () => (await (await admin('/admin/workers')).json()).workers[0].status.draining === false);
    expect((await admin('/admin/workers/nope/drain', { method: 'POST' })).status).toBe(404);
  });

  it('loads and unloads a model on the workers; routing follows', async () => {
    const r = await admin('/admin/models/load', { json: { model: 'second', path: '/models/second' } });
    expect(r.status).toBe(200);
    expect((await r.json()).results.every((x: { ok: boolean }) => x.ok)).toBe(true);
    const models = await (await h.fetch('/v1/models')).json();
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['echo', 'second']);
    const chat = await h.fetch('/v1/chat/completions', { json: chatBody('on the second model', { model: 'second' }) });
    expect(chat.status).toBe(200);
    await admin('/admin/models/unload', { json: { model: 'second', worker: 'w2' } });
    await admin('/admin/models/unload', { json: { model: 'second', worker: 'w1' } });
    const gone = await h.fetch('/v1/chat/completions', { json: chatBody('again', { model: 'second' }) });
    expect(gone.status).toBe(404);
  });

  it('exports every family of metrics with the mlx_serving_ prefix', async () => {
    const text = await (await h.fetch('/metrics')).text();
    for (const name of Object.values(METRIC)) expect(text, name).toContain(`# TYPE ${name}`);
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
    for (const n of names) expect(n.startsWith('mlx_serving_'), n).toBe(true);
    expect(await h.metric(METRIC.breakerState, { worker: 'w1' })).toBe(0);
    expect(await h.metric(METRIC.httpRequests, { route: '/v1/chat/completions', status: '200' })).toBeGreaterThan(0);
    expect(await h.metric(`${METRIC.ttftSeconds}_count`)).toBeGreaterThan(0);
  });
});
