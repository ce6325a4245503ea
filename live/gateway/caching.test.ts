// Dedupe, response cache and coalescing as seen from outside: worker call counts and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { chatBody, startHarness, type Harness } from './test-harness.js';

describe('caching and coalescing through the live gateway', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: [{ tokenDelayMs: 5, firstTokenDelayMs: 60 }] });
  });
  afterAll(() => h.close());
  const workerCalls = () => h.workers[0]!.counters.requests;

  it('coalesces two identical temperature-0 requests in flight into one worker call', async () => {
    const before = workerCalls();
    const body = chatBody('same words for both', { stream: true });
    h.workers[0]!.firstTokenDelayMs = 400; // both surely arrive while the first is in flight, even on a loaded machine
    const [a, b] = await Promise.all([h.fetch('/v1/chat/completions', { json: body }), h.fetch('/v1/chat/completions', { json: body })]);
    const [ta, tb] = await Promise.all([a.text(), b.text()]);
    h.workers[0]!.firstTokenDelayMs = 60;
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const content = (t: string) => t.split('\n\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '').join('');
    expect(content(ta)).toBe('same words for both');
    expect(content(tb)).toBe('same words for both');
    expect(workerCalls() - before).toBe(1);
    expect(await h.metric(METRIC.coalescedRequests)).toBe(1);
    expect(await h.metric(METRIC.coalescedGroups)).toBe(1);
    expect(await h.metric(METRIC.coalescedTokensSaved)).toBe(4);
  });

  it('a follower that arrives mid-stream gets a replay of what the job already produced', async () => {
    const body = chatBody('late joiner sees every word of this', { max_tokens: 7 });
    const first = h.fetch('/v1/chat/completions', { json: body });
    await new Promise((r) => setTimeout(r, 80)); // the leader is streaming by now
    const second = await h.fetch('/v1/chat/completions', { json: body });
    const [ja, jb] = [await (await first).json(), await second.json()];
    expect(ja.choices[0].message.content).toBe('late joiner sees every word of this');
    expect(jb.choices[0].message.content).toBe('late joiner sees every word of this');
    expect(jb.usage).toEqual(ja.usage);
  });

  it('answers a repeat within the dedupe window without the worker, with usage', async () => {
    const body = chatBody('dedupe this one');
    const r1 = await (await h.fetch('/v1/chat/completions', { json: body })).json();
    const before = workerCalls();
    const hitsBefore = await h.metric(METRIC.dedupeHits);
    const r2 = await (await h.fetch('/v1/chat/completions', { json: body })).json();
    expect(workerCalls()).toBe(before);
    expect(r2.choices[0].message.content).toBe('dedupe this one');
    expect(r2.usage).toEqual(r1.usage);
    expect(await h.metric(METRIC.dedupeHits)).toBe(hitsBefore + 1);
  });

  it('serves from the response cache after the dedupe window, and counts hits and misses', async () => {
    const body = chatBody('cache hit after a while');
    await h.fetch('/v1/chat/completions', { json: body });
    await new Promise((r) => setTimeout(r, 1050)); // dedupe TTL is 1 s
    const hits = await h.metric(METRIC.cacheHits);
    const before = workerCalls();
    const r = await (await h.fetch('/v1/chat/completions', { json: body })).json();
    expect(r.choices[0].message.content).toBe('cache hit after a while');
    expect(workerCalls()).toBe(before);
    expect(await h.metric(METRIC.cacheHits)).toBe(hits + 1);
    expect(await h.metric(METRIC.cacheMisses)).toBeGreaterThan(0);
  });

  it('cache-control: no-cache and x-cache-bypass: 1 send every request to the worker', async () => {
    const body = chatBody('bypass the caches');
    const before = workerCalls();
    await Promise.all([
      h.fetch('/v1/chat/completions', { json: body, headers: { 'cache-control': 'no-cache' } }).then((r) => r.text()),
      h.fetch('/v1/chat/completions', { json: body, headers: { 'x-cache-bypass': '1' } }).then((r) => r.text()),
    ]);
    await h.fetch('/v1/chat/completions', { json: body, headers: { 'x-cache-bypass': '1' } }).then((r) => r.text());
    expect(workerCalls() - before).toBe(3);
  });

  it('does not share sampled requests (temperature > 0, no seed)', async () => {
    const body = chatBody('sampled twice', { temperature: 0.7 });
    const before = workerCalls();
    await h.fetch('/v1/chat/completions', { json: body }).then((r) => r.text());
    await h.fetch('/v1/chat/completions', { json: body }).then((r) => r.text());
    expect(workerCalls() - before).toBe(2);
  });
});

describe('micro-batching', () => {
  it('sends requests arriving together in one GenerateBatch', async () => {
    const h = await startHarness({ core: { batching: { type: 'micro', windowMs: 20, maxBatchSize: 8 } } });
    try {
      const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => h.fetch('/v1/completions', { json: { model: 'echo', prompt: `batch ${i}`, temperature: 0.5 } })));
      for (const r of rs) expect(r.status).toBe(200);
      expect(h.workers[0]!.counters.requests).toBe(8);
      expect(h.workers[0]!.counters.batches).toBeLessThan(8);
      expect(h.workers[0]!.counters.batchSizeMax).toBeGreaterThan(1);
      expect(await h.metric('mlx_serving_batch_size_count')).toBe(h.workers[0]!.counters.batches);
    } finally {
      await h.close();
    }
  });
});
