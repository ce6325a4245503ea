// NATS restarts (issue 8): against a real `nats-server -js`, two echo workers heartbeating every
// 200 ms and a gateway following the registry. NATS stops: the gateway keeps routing to the workers
// it knows (a lost connection freezes the registry's view; no worker expires) for well past the TTL.
// NATS comes back on the same port and store: the workers' heartbeats resume, and the watch is live
// again — a worker that then stops heartbeating is removed after its missed heartbeats.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { resolveLiveConfig } from '../shared/config.js';
import type { ModelInfoMsg, WorkerStatusMsg } from '../shared/proto.js';
import { startNatsRegistration, type NatsRegistration, type RegistrationInfo } from './nats-registry.js';
import { freePort, startNatsServer, type NatsServer } from './nats-server.js';
import { until as pollUntil } from '../shared/poll.js';

const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000) => pollUntil(cond, timeoutMs, 20, what);

const HEARTBEAT_MS = 200;
const API_KEY = 'sk-nats-restart-test-01';
const BUCKET = 'restart_test';

function info(id: string, address: string): RegistrationInfo {
  const status = (): WorkerStatusMsg => ({
    workerId: id, models: ['echo'], maxConcurrent: 8, healthy: true, draining: false, kvUsedBytes: 0, kvCapacityBytes: 1 << 20, activeSequences: 0, runtimesAlive: 1, runtimesTotal: 1,
  });
  const models = (): ModelInfoMsg[] => [{ id: 'echo', path: '/models/echo', version: 'v-echo-1', bytes: 1234, loaded: true }];
  return { id, address, status, models };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('NATS restart', () => {
  it('keeps routing to known workers while NATS is down and resynchronises after it restarts', async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'mlx-nats-restart-'));
    const port = await freePort();
    let nats: NatsServer | undefined;
    const workers: EchoWorker[] = [];
    const regs: NatsRegistration[] = [];
    let gw: Gateway | undefined;
    const regErrors: string[] = [];
    try {
      nats = await startNatsServer({ port, storeDir });
      const url = nats.url;
      workers.push(await startEchoWorker({ id: 'e1', models: ['echo'] }), await startEchoWorker({ id: 'e2', models: ['echo'] }));
      for (const w of workers) {
        regs.push(await startNatsRegistration(info(w.id, w.address), url, { heartbeatIntervalMs: HEARTBEAT_MS, bucket: BUCKET, onError: (e) => regErrors.push(e.message) }));
      }
      const config = resolveLiveConfig({
        listen: { host: '127.0.0.1', port: 0 }, auth: { apiKeys: [API_KEY] }, logLevel: 'silent',
        grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 2_000 },
        registry: { type: 'nats', url, bucket: BUCKET },
        core: { health: { heartbeatIntervalMs: 200, missesMax: 3 }, batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 } },
      });
      gw = buildGateway({ config, logger: false });
      const gwUrl = await gw.start();
      const g = gw;
      const chat = async (content: string): Promise<string> => {
        const res = await fetch(`${gwUrl}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content }], temperature: 0.5 }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
      };
      await until('both workers linked', () => g.links.has('e1') && g.links.has('e2'));
      await until('echo ready', () => g.core.readyModels(g.driver.nowMs()).includes('echo'));
      for (let i = 0; i < 4; i++) expect(await chat(`before ${i}`)).toBe(`before ${i}`);

      // NATS goes away. For 15 heartbeat intervals (well past the TTL of 6) every request still succeeds
      // and the gateway keeps both workers.
      await nats.stop();
      nats = undefined;
      const downUntil = Date.now() + 15 * HEARTBEAT_MS;
      let sent = 0;
      while (Date.now() < downUntil) {
        expect(await chat(`down ${sent}`)).toBe(`down ${sent}`);
        sent++;
        expect([...g.links.keys()].sort()).toEqual(['e1', 'e2']);
        await sleep(50);
      }
      expect(sent).toBeGreaterThan(10);

      // NATS comes back on the same port and store: both workers heartbeat again.
      const beatsAtRestart = regs.map((r) => r.beats);
      nats = await startNatsServer({ port, storeDir });
      await until('heartbeats resume', () => regs.every((r, i) => r.beats >= beatsAtRestart[i]! + 5), 20_000);
      expect([...g.links.keys()].sort()).toEqual(['e1', 'e2']);
      expect(await chat('after restart')).toBe('after restart');

      // The watch is live again: e2 hangs (no heartbeats, its server gone) and is removed after its
      // missed heartbeats; e1 keeps heartbeating, stays, and serves.
      regs[1]!.pause();
      workers[1]!.kill();
      await until('e2 removed after missed heartbeats', () => !g.links.has('e2'), 20_000);
      expect(g.links.has('e1')).toBe(true);
      const before = workers[0]!.counters.requests;
      for (let i = 0; i < 3; i++) expect(await chat(`resynced ${i}`)).toBe(`resynced ${i}`);
      expect(workers[0]!.counters.requests - before).toBe(3);
      await sleep(10 * HEARTBEAT_MS);
      expect([...g.links.keys()]).toEqual(['e1']);
    } finally {
      await gw?.stop().catch(() => undefined);
      for (const r of regs) await r.stop().catch(() => undefined);
      for (const w of workers) w.kill();
      await nats?.stop().catch(() => undefined);
      rmSync(storeDir, { recursive: true, force: true });
    }
  }, 90_000);
});
