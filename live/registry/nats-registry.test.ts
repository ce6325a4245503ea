// The NATS registry against a real `nats-server -js` on loopback: registration, model versions,
// heartbeat expiry (unhealthy after 3 missed heartbeats, removed at the TTL), re-registration,
// deregistration; and the gateway following it (workers added and removed live, traffic served).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { resolveLiveConfig } from '../shared/config.js';
import type { ModelInfoMsg, WorkerStatusMsg } from '../shared/proto.js';
import { startNatsRegistration, watchNatsRegistry, type NatsRegistration, type RegistrationInfo, type RegistryChange } from './nats-registry.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { until } from '../shared/poll.js';

const HEARTBEAT_MS = 100;
const API_KEY = 'sk-registry-test-01';

function info(id: string, address: string, models = ['echo']): RegistrationInfo {
  const status = (): WorkerStatusMsg => ({
    workerId: id, models, maxConcurrent: 8, healthy: true, draining: false, kvUsedBytes: 0, kvCapacityBytes: 1 << 20, activeSequences: 0, runtimesAlive: 1, runtimesTotal: 1,
  });
  const infos = (): ModelInfoMsg[] => models.map((m) => ({ id: m, path: `/models/${m}`, version: `v-${m}-1`, bytes: 1234, loaded: true }));
  return { id, address, status, models: infos };
}


describe('NATS JetStream registry', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  }, 20_000);
  afterAll(async () => {
    await nats?.stop();
  });

  it('records workers with their models and versions; heartbeat expiry, re-registration, deregistration', async () => {
    const bucket = 'reg_test_1';
    const changes: RegistryChange[] = [];
    const watch = await watchNatsRegistry(nats.url, (c) => changes.push(c), { bucket, checkIntervalMs: 20 });
    await watch.initialized;
    let reg: NatsRegistration | undefined;
    try {
      reg = await startNatsRegistration(info('w:1', '127.0.0.1:5001', ['tiny', 'small']), nats.url, { heartbeatIntervalMs: HEARTBEAT_MS, bucket });
      await until(() => changes.some((c) => c.type === 'added'));
      const added = changes.find((c) => c.type === 'added')!;
      expect(added.type === 'added' && added.worker.record).toMatchObject({
        id: 'w:1', address: '127.0.0.1:5001', heartbeatIntervalMs: HEARTBEAT_MS, healthy: true,
        models: [{ id: 'tiny', version: 'v-tiny-1', bytes: 1234, path: '/models/tiny' }, { id: 'small', version: 'v-small-1', bytes: 1234, path: '/models/small' }],
      });
      await until(() => reg!.beats >= 4);
      expect(changes.map((c) => c.type)).toEqual(['added']); // heartbeats alone are not changes

      // The worker stops heartbeating: unhealthy after 3 intervals, removed after the TTL (6).
      reg.pause();
      const pausedAt = Date.now();
      await until(() => changes.some((c) => c.type === 'unhealthy'));
      const unhealthyAfterMs = Date.now() - pausedAt;
      expect(unhealthyAfterMs).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
      expect(watch.workers()[0]!.healthy).toBe(false);
      await until(() => changes.some((c) => c.type === 'removed'));
      expect(changes.at(-1)).toEqual({ type: 'removed', id: 'w:1', reason: 'expired' });
      expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(5 * HEARTBEAT_MS);
      expect(watch.workers()).toEqual([]);

      // It comes back: added again.
      reg.resume();
      await until(() => changes.filter((c) => c.type === 'added').length === 2);
      expect(watch.workers()[0]!.healthy).toBe(true);

      // A new watcher sees the current record from the bucket.
      const late: RegistryChange[] = [];
      const watch2 = await watchNatsRegistry(nats.url, (c) => late.push(c), { bucket });
      await watch2.initialized;
      expect(late.map((c) => c.type)).toEqual(['added']);
      await watch2.stop();

      // Graceful stop deletes the record.
      await reg.stop();
      reg = undefined;
      await until(() => changes.at(-1)?.type === 'removed');
      expect(changes.at(-1)).toEqual({ type: 'removed', id: 'w:1', reason: 'deregistered' });
    } finally {
      await reg?.stop();
      await watch.stop();
    }
  }, 30_000);

  describe('the gateway following the registry', () => {
    let workers: EchoWorker[] = [];
    let gw: Gateway | undefined;
    const regs: NatsRegistration[] = [];
    afterAll(async () => {
      await gw?.stop();
      for (const r of regs) await r.stop();
      for (const w of workers) w.kill();
    });

    it('adds registered workers, removes one that misses heartbeats, adds it back when it returns', async () => {
      const bucket = 'reg_test_gw';
      workers = await Promise.all([startEchoWorker({ id: 'e1', models: ['echo'] }), startEchoWorker({ id: 'e2', models: ['echo'] })]);
      const r1 = await startNatsRegistration(info('e1', workers[0]!.address), nats.url, { heartbeatIntervalMs: HEARTBEAT_MS, bucket });
      regs.push(r1);
      const config = resolveLiveConfig({
        listen: { host: '127.0.0.1', port: 0 }, auth: { apiKeys: [API_KEY] }, logLevel: 'silent',
        grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 2_000 },
        registry: { type: 'nats', url: nats.url, bucket },
        core: { health: { heartbeatIntervalMs: 200, missesMax: 3 }, batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 } },
      });
      gw = buildGateway({ config, logger: false });
      const url = await gw.start();
      expect([...gw.links.keys()]).toEqual(['e1']); // known before the gateway listens
      const chat = (content: string) => fetch(`${url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content }], temperature: 0.5 }),
      });
      const first = await chat('hello registry');
      expect(first.status).toBe(200);
      expect(((await first.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('hello registry');

      // A second worker registers: added live.
      const r2 = await startNatsRegistration(info('e2', workers[1]!.address), nats.url, { heartbeatIntervalMs: HEARTBEAT_MS, bucket });
      regs.push(r2);
      await until(() => gw!.links.has('e2'));
      await until(() => gw!.core.readyModels(gw!.driver.nowMs()).includes('echo'));

      // e1 stops heartbeating (hung or partitioned): removed after 3 missed heartbeats; traffic goes to e2.
      r1.pause();
      await until(() => !gw!.links.has('e1'));
      const before = workers[1]!.counters.requests;
      for (let i = 0; i < 4; i++) expect((await chat(`after ${i}`)).status).toBe(200);
      expect(workers[1]!.counters.requests - before).toBe(4);

      // e1 is back: added again.
      r1.resume();
      await until(() => gw!.links.has('e1'));
      // e2 deregisters: removed at once.
      await r2.stop();
      await until(() => !gw!.links.has('e2'));
      await until(async () => (await chat('still served')).status === 200);
    }, 30_000);
  });
});
