// The adaptive concurrency limit through the real path (HTTP → gateway → gRPC → echo worker): a
// worker whose tokens come slower than the target has its limit cut to the minimum, the gateway
// then keeps no more than that in flight on it, and the excess waits in the queue and is served.
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../shared/clock.js';
import { METRIC } from './metrics-names.js';
import { chatBody, startHarness, type Harness } from './test-harness.js';

describe('adaptive concurrency limit', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('shrinks to the minimum when decode is slower than the target and holds in-flight to it', async () => {
    // ~20 ms per token on the worker against a 5 ms target: every completion says "overloaded"; the
    // limit halves once per round trip (16 → 8 → 4 → 2).
    h = await startHarness({
      workers: [{ tokenDelayMs: 20, firstTokenDelayMs: 0 }],
      core: {
        admission: { maxConcurrentPerWorker: 16, queueTimeoutMs: 30_000, adaptive: { enabled: true, targetMsPerToken: 5, minConcurrent: 2, decreaseFactor: 0.5 } },
        caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } },
      },
    });
    const limitNow = () => h!.gw.core.workerInfo(systemClock.nowMs())[0]!;
    expect(limitNow().maxConcurrent).toBe(16);
    let running = true;
    // Requests dispatched before a cut finish on their own, so in-flight may exceed a new limit for a
    // moment; once it has drained down to the minimum, the gateway must keep it there.
    let maxInFlightAtMin = 0;
    let drainedToMin = false;
    const watcher = (async () => {
      while (running) {
        const w = limitNow();
        if (w.maxConcurrent === 2 && w.inFlight <= 2) drainedToMin = true;
        if (w.maxConcurrent === 2 && drainedToMin) maxInFlightAtMin = Math.max(maxInFlightAtMin, w.inFlight);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const statuses: number[] = [];
    let seq = 0;
    const client = async () => {
      for (let k = 0; k < 6; k++) {
        const r = await h!.fetch('/v1/chat/completions', { json: chatBody(`one two three four five ${seq++}`, { temperature: 0.8 }) });
        statuses.push(r.status);
        await r.text();
      }
    };
    await Promise.all(Array.from({ length: 12 }, client));
    running = false;
    await watcher;
    expect(statuses.every((s) => s === 200), JSON.stringify(statuses)).toBe(true);
    expect(limitNow().maxConcurrent).toBe(2);
    expect(await h.metric(METRIC.workerConcurrencyLimit, { worker: 'w1' })).toBe(2);
    expect(maxInFlightAtMin).toBeGreaterThan(0);
    expect(maxInFlightAtMin).toBeLessThanOrEqual(2);
  }, 60_000);
});
