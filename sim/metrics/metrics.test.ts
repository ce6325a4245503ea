// Metrics: the histogram against hdr-histogram-js, counters and time series (bounded), the summary's
// stable JSON, and ITL derived from worker steps.
import { describe, expect, it } from 'vitest';
import { build } from 'hdr-histogram-js';
import { LatencyHistogram } from './histogram.js';
import { SimMetrics } from './sim-metrics.js';
import { recordCompletion } from './sink.js';
import { deriveRng } from '../rng/rng.js';
import { lognormal } from '../rng/samplers.js';

describe('LatencyHistogram', () => {
  it('percentiles agree with hdr-histogram-js (3 significant digits) within 0.2 %', () => {
    const ref = build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 3, useWebAssembly: false });
    const mine = new LatencyHistogram();
    const rng = deriveRng(1, 'hist');
    const all: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const ms = lognormal(rng, 300, 2);
      mine.record(ms);
      all.push(ms);
      ref.recordValue(Math.round(ms * 1000));
    }
    all.sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99]) {
      const want = ref.getValueAtPercentile(p) / 1000;
      expect(Math.abs(mine.percentileMs(p) / want - 1), `p${p} vs hdr`).toBeLessThan(0.002);
    }
    for (const p of [50, 99, 99.9]) {
      const exact = all[Math.ceil((p / 100) * all.length) - 1]!; // nearest rank
      expect(Math.abs(mine.percentileMs(p) / exact - 1), `p${p} vs exact`).toBeLessThan(0.001);
    }
    expect(mine.percentileMs(100)).toBe(mine.maxMs);
    expect(mine.count).toBe(50_000);
  });
  it('small values are exact; weighted records count; bad values throw', () => {
    const h = new LatencyHistogram();
    h.record(1.5, 3);
    h.record(2);
    expect(h.percentileMs(50)).toBe(1.5);
    expect(h.percentileMs(99)).toBe(2);
    expect(h.meanMs).toBeCloseTo(6.5 / 4, 12);
    expect(() => h.record(-1)).toThrow();
    expect(() => h.record(NaN)).toThrow();
    h.record(5 * 3600 * 1000); // 5 h: beyond 2^31 µs
    expect(Math.abs(h.percentileMs(100) / (5 * 3600 * 1000) - 1)).toBeLessThan(0.001);
  });
});

describe('SimMetrics', () => {
  const run = (): SimMetrics => {
    const m = new SimMetrics({ intervalMs: 1000, bucketsMax: 4 });
    for (let i = 0; i < 10; i++) {
      m.add('requests_arrived', 1, i * 900);
      recordCompletion(m, { arrivalMs: i * 900, firstTokenMs: i * 900 + 100 + i, endMs: i * 900 + 500, queueMs: 10, prefillMs: 90, decodeMs: 400, outputTokens: 20, promptTokens: 100, cachedPromptTokens: i % 2 ? 64 : 0 }, i * 900 + 500);
      m.onStep(0, i * 900, 25, 4, 3);
    }
    m.add('requests_failed', 2, 9000);
    return m;
  };

  it('summarizes latencies, counters, success rate and throughput', () => {
    const s = run().summarize(10_000);
    expect(s.requests).toEqual({ arrived: 10, completed: 10, failed: 2, rejected: 0, successRate: 0.833 });
    expect(s.latencyMs.ttft_ms.p50).toBeCloseTo(104, 1);
    expect(s.latencyMs.ttft_ms.max).toBe(109);
    expect(s.latencyMs.itl_ms.count).toBe(30);
    expect(s.latencyMs.itl_ms.p99).toBe(25);
    expect(s.counters.prefix_cache_hits).toBe(5);
    expect(s.counters.prompt_tokens_cached).toBe(320);
    expect(s.throughput.outputTokensPerSec).toBe(20);
  });

  it('the time series stays bounded by coarsening; its totals are preserved', () => {
    const s = run().summarize(10_000, [], { timeSeries: true });
    const ts = s.timeSeries!;
    expect(ts.rows.length).toBeLessThanOrEqual(4);
    expect(ts.intervalMs).toBe(4000);
    const col = ts.columns.indexOf('requests_arrived');
    expect(ts.rows.reduce((a, r) => a + r[col]!, 0)).toBe(10);
  });

  it('a record lands in bucket floor(t / intervalMs), at and next to the edges (the cached bucket agrees)', () => {
    for (const intervalMs of [60_000, 1000, 0.1, 1 / 3]) {
      const times: number[] = [];
      for (let b = 0; b < 6; b++) {
        const edge = b * intervalMs;
        for (const t of [edge, edge + intervalMs / 2, (b + 1) * intervalMs * (1 - 2 ** -52), (b + 1) * intervalMs * (1 - 2 ** -50), (b + 1) * intervalMs * (1 - 2 ** -48)]) times.push(t);
      }
      const m = new SimMetrics({ intervalMs });
      const want = new Map<number, number>();
      for (const t of times) {
        m.add('requests_arrived', 1, t);
        const b = Math.floor(t / intervalMs);
        want.set(b, (want.get(b) ?? 0) + 1);
      }
      const ts = m.summarize(10, [], { timeSeries: true }).timeSeries!;
      const col = ts.columns.indexOf('requests_arrived');
      ts.rows.forEach((row, b) => expect(row[col], `interval ${intervalMs}, bucket ${b}`).toBe(want.get(b) ?? 0));
    }
  });

  it('the same run gives byte-identical JSON with a stable key order', () => {
    const a = JSON.stringify(run().summarize(10_000, [], { timeSeries: true }));
    const b = JSON.stringify(run().summarize(10_000, [], { timeSeries: true }));
    expect(a).toBe(b);
    expect(Object.keys(JSON.parse(a))).toEqual(['durationMs', 'requests', 'throughput', 'latencyMs', 'counters', 'workers', 'timeSeries']);
  });
});
