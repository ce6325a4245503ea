// A slow worker, live (issue 8): latency-aware routing moves traffic to the fast worker, and a worker
// that stops making progress trips the breaker's timeout: its requests are retried elsewhere.
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, startHarness, type Harness } from './test-harness.js';

describe('a slow worker', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const countOn = (id: string, traces: readonly string[]) => traces.filter((t) => h!.workers.find((w) => w.id === id)!.traceIds.includes(t)).length;

  it('gets less traffic under latency-aware routing', async () => {
    // w1 answers at once; w2 takes ~100 ms per request (5 words × 20 ms).
    h = await startHarness({ workers: [{}, { tokenDelayMs: 20, firstTokenDelayMs: 20 }], core: { routing: { type: 'latency-aware', ewmaAlpha: 0.5 } } });
    const traces: string[] = [];
    for (let round = 0; round < 10; round++) {
      await Promise.all([0, 1, 2, 3].map(async (i) => {
        const trace = `lat-${round}-${i}`;
        traces.push(trace);
        const r = await h!.fetch('/v1/chat/completions', { json: chatBody(`one two three four five ${round} ${i}`, { temperature: 0.8 }), headers: { 'x-request-id': trace } });
        expect(r.status).toBe(200);
        await r.text();
      }));
    }
    const fast = countOn('w1', traces);
    const slow = countOn('w2', traces);
    expect(fast + slow).toBe(traces.length);
    // Both were tried (the policy measures every worker), and the fast one took most of the load.
    expect(slow).toBeGreaterThan(0);
    expect(fast).toBeGreaterThan(slow * 2);
  });

  it('trips the breaker when it stops making progress; its requests are retried on the other worker', async () => {
    // w2 never sends a first token within the test (60 s); the breaker's no-progress timeout is 500 ms.
    h = await startHarness({
      workers: [{}, { firstTokenDelayMs: 60_000 }],
      core: { routing: { type: 'round-robin' }, breaker: { timeoutMs: 500, cooldownMs: 60_000 }, retry: { baseDelayMs: 1, capDelayMs: 5 } },
    });
    // The no-progress timeout counts from the later of a request's own progress and anything heard from
    // its worker (events or statuses), so a worker that still answers Stats is "busy", not "stuck".
    // Make w2 hang for real: no tokens and no Stats answers.
    h.workers[1]!.statsHang = true;
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => {
      const r = await h!.fetch('/v1/chat/completions', { json: chatBody(`stuck ${i}`, { temperature: 0.8 }) });
      return { status: r.status, body: await r.json() };
    }));
    for (const r of results) expect(r.status).toBe(200);
    const workers = await (await h.fetch('/admin/workers', { key: 'sk-admin-key-0001' })).json();
    const w2 = workers.workers.find((w: { id: string }) => w.id === 'w2');
    expect(w2.status.breaker).toBe('open');
    // Every request that went to w2 first was cancelled there when it timed out, then served by w1.
    expect(h.workers[1]!.cancelledIds.length).toBeGreaterThan(0);
    expect(await h.metric('mlx_serving_retries_total')).toBeGreaterThanOrEqual(h.workers[1]!.cancelledIds.length);
  });
});
