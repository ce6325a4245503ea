// The gateway↔worker link over a UNIX socket: stream reconnect with backoff after the worker restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveLiveConfig } from '../shared/config.js';
import { startEchoWorker } from '../echo/echo-worker.js';
import { buildGateway } from './gateway.js';
import { METRIC } from './metrics-names.js';
import { API_KEY, chatBody, until } from './test-harness.js';

describe('worker link', () => {
  it('serves over a UNIX socket and reconnects the Session stream after the worker restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-link-'));
    const address = `unix://${join(dir, 'w1.sock')}`;
    let worker = await startEchoWorker({ id: 'w1', address });
    const gw = buildGateway({
      logger: false,
      config: resolveLiveConfig({
        listen: { port: 0 }, auth: { apiKeys: [API_KEY] }, logLevel: 'silent', workers: [{ id: 'w1', address }],
        grpc: { reconnectBaseMs: 20, reconnectMaxMs: 200, unaryTimeoutMs: 500 },
        core: { health: { heartbeatIntervalMs: 100 }, breaker: { cooldownMs: 100 } }, // the breaker opens while the worker is down
      }),
    });
    const url = await gw.start();
    const chat = async (content: string) => {
      const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(chatBody(content, { temperature: 1 })) });
      await r.text();
      return r;
    };
    try {
      // a loaded machine can take longer than one heartbeat to see the worker: wait until it is routable
      await until(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 20);
      expect((await chat('before the restart')).status).toBe(200);
      worker.kill();
      await until(() => !gw.links.get('w1')!.connected);
      // Refused (503), failed after retries (502), or queued until the worker is back (200).
      const during = chat('while it is down');
      await new Promise((r) => setTimeout(r, 100));
      worker = await startEchoWorker({ id: 'w1', address });
      await until(async () => (await chat('after the restart')).status === 200, 10_000, 50);
      expect([200, 502, 503]).toContain((await during).status);
      expect(gw.links.get('w1')!.reconnects).toBeGreaterThan(0);
      const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
      expect(metrics).toMatch(new RegExp(`${METRIC.workerStreamReconnects}\\{worker="w1"\\} [1-9]`));
    } finally {
      await gw.stop();
      worker.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
