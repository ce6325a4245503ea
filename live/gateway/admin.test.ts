// The admin API and /metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { resolveLiveConfig } from '../shared/config.js';
import { buildGateway } from './gateway.js';
import { METRIC } from './metrics-names.js';
import type { RestartWorkerHook } from './rolling-restart.js';
import { ADMIN_KEY, API_KEY, chatBody, startHarness, until, type Harness, type J } from './test-harness.js';

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
    // Per-worker completion tokens (issue 20's per-worker shares): every worker that served streamed some.
    const served = await Promise.all(['w1', 'w2'].map(async (worker) => [await h.metric(METRIC.workerDispatches, { worker }), await h.metric(METRIC.workerTokens, { worker })] as const));
    expect(served.some(([d]) => d > 0)).toBe(true);
    for (const [dispatches, tokens] of served) expect(tokens > 0, `dispatches ${dispatches}, tokens ${tokens}`).toBe(dispatches > 0);
  });
});

describe('admin API: rolling restart', () => {
  it('POST /admin/restart?rolling=true&wait=true restarts each worker and reports the records; GET shows the status; bad bodies are 4xx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-roll-'));
    const addr = (id: string) => `unix://${join(dir, `${id}.sock`)}`;
    const echoes = new Map<string, EchoWorker>();
    for (const id of ['w1', 'w2']) echoes.set(id, await startEchoWorker({ id, address: addr(id), models: ['echo'] }));
    const restarted: string[] = [];
    const restartWorker: RestartWorkerHook = async (id) => {
      echoes.get(id)!.kill();
      echoes.set(id, await startEchoWorker({ id, address: addr(id), models: ['echo'] }));
      restarted.push(id);
    };
    const config = resolveLiveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY },
      limits: { requestTimeoutMs: 10_000, shutdownTimeoutMs: 2_000 },
      grpc: { reconnectBaseMs: 50, reconnectMaxMs: 300, unaryTimeoutMs: 2_000 },
      workers: ['w1', 'w2'].map((id) => ({ id, address: addr(id) })),
      logLevel: 'silent',
      core: { health: { heartbeatIntervalMs: 200, missesMax: 10 } },
    });
    const gw = buildGateway({ config, logger: false, restartWorker });
    const url = await gw.start();
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' } });
    try {
      expect(await (await admin('/admin/restart')).json()).toMatchObject({ state: 'idle', current: null, done: [], error: null });
      expect((await admin('/admin/restart?rolling=true', { method: 'POST', body: JSON.stringify({ workers: ['w1', 'w1'] }) })).status).toBe(400);
      expect((await admin('/admin/restart?rolling=true', { method: 'POST', body: JSON.stringify({ workers: ['nope'] }) })).status).toBe(404);
      await until(() => gw.core.workerInfo(performance.now()).every((w) => w.healthy && w.models.length > 0), 20_000);
      const body = { minHealthyWorkers: 1, waitHealthyMs: 10_000, drainTimeoutMs: 10_000, readyTimeoutMs: 20_000 };
      const res = await admin('/admin/restart?rolling=true&wait=true', { method: 'POST', body: JSON.stringify(body) });
      const status = (await res.json()) as J;
      expect(res.status, JSON.stringify(status)).toBe(200);
      expect(status, JSON.stringify(status)).toMatchObject({ state: 'done', current: null, error: null });
      expect(status.done.map((d: { id: string }) => d.id)).toEqual(['w1', 'w2']);
      for (const d of status.done) expect(Object.keys(d).sort()).toEqual(['cutInFlight', 'drainMs', 'id', 'readyMs', 'restartMs']);
      expect(restarted).toEqual(['w1', 'w2']);
      expect(typeof status.startedAtMs).toBe('number');
      expect(status.finishedAtMs).toBeGreaterThanOrEqual(status.startedAtMs);
      expect(await (await admin('/admin/restart')).json()).toEqual(status);
      // the watchdog: the only other worker cannot cover for w1 when 2 are required
      const aborted = (await (await admin('/admin/restart?rolling=true&wait=true', { method: 'POST', body: JSON.stringify({ ...body, minHealthyWorkers: 2, waitHealthyMs: 100 }) })).json()) as J;
      expect(aborted).toMatchObject({ state: 'aborted', done: [] });
      expect(`state: ${aborted.state} (${aborted.error})`).toMatch(/^state: aborted \(watchdog/);
    } finally {
      await gw.stop();
      for (const e of echoes.values()) e.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
