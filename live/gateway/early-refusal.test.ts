// Early refusal through the real path (HTTP → gateway → gRPC → echo worker): once the gateway has
// measured how fast the worker finishes requests, a burst the worker cannot start within the queue
// timeout is answered at once — 503 queue_full with a Retry-After — instead of waiting out the
// timeout; the requests it can serve are served.
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, startHarness, type Harness } from './test-harness.js';

describe('early refusal under a burst', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('refuses what would only time out, at once with Retry-After; serves the rest', async () => {
    // One worker, one request at a time, ~100 ms each (5 words × 20 ms): about 10 per second.
    const queueTimeoutMs = 1_000;
    h = await startHarness({
      workers: [{ tokenDelayMs: 20, firstTokenDelayMs: 0, maxConcurrent: 1 }],
      core: { admission: { maxConcurrentPerWorker: 1, queueTimeoutMs, earlyRefusalFactor: 1.5 }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } } },
    });
    const ask = async (i: number) => {
      const t0 = Date.now();
      const r = await h!.fetch('/v1/chat/completions', { json: chatBody(`one two three four five ${i}`, { temperature: 0.8 }) });
      const body = (await r.json()) as { error?: { code?: string } };
      return { status: r.status, code: body.error?.code, retryAfter: r.headers.get('retry-after'), ms: Date.now() - t0 };
    };
    // Warm-up: 8 requests one after another, so the drain rate is known.
    for (let i = 0; i < 8; i++) expect((await ask(i)).status).toBe(200);
    // A burst of 60: at ~10/s, only the first ~15 can start within 1.5 × 1 s.
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => ask(100 + i)));
    const served = burst.filter((r) => r.status === 200);
    const early = burst.filter((r) => r.status === 503 && r.code === 'queue_full');
    const timedOut = burst.filter((r) => r.status === 503 && r.code === 'queue_timeout');
    const show = JSON.stringify({ served: served.length, early: early.length, timedOut: timedOut.length, other: burst.filter((r) => r.status !== 200 && r.status !== 503) });
    expect(served.length + early.length + timedOut.length, show).toBe(60);
    expect(served.length, show).toBeGreaterThan(3);
    expect(early.length, show).toBeGreaterThan(20);
    for (const r of early) {
      expect(Number(r.retryAfter), show).toBeGreaterThanOrEqual(1);
      // Answered well before the queue timeout (generous for a shared machine).
      expect(r.ms, show).toBeLessThan(queueTimeoutMs);
    }
  }, 60_000);
});
