// Repetitions: medians and spread of each figure, paired ratios, alternating order, the report's table.
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../reports/result.js';
import { aggregateRepetitions, median, medianSummary, orderOf, repetitionCurves } from './repeat.js';
import { repetitionsTable } from '../../reports/repetitions.js';

const pct = (p50: number, p95: number) => ({ p50, p95, p99: p95 * 1.1, max: p95 * 2, mean: p50 });
function run(policy: string, tok: number, itl95: number, extra: Record<string, number> = {}): RunSummary {
  return {
    policy, workers: 1, requests: Math.round(tok), succeeded: Math.round(tok), failed: 0, rejected: 0, durationMs: 45_000, outputTokens: tok * 45,
    outputTokPerS: tok, successRate: 1, ttftMs: pct(100, 300), itlMs: pct(itl95 / 2, itl95), e2eMs: pct(1000, 3000), queueMs: pct(0, 0), extra,
    cdf: { ttftMs: [[tok, 1]], e2eMs: [], itlMs: [] }, timeline: [{ tMs: 0, outputTokPerS: tok, inFlight: 1 }],
  };
}

describe('repetitions', () => {
  it('alternates which side runs first', () => {
    expect([1, 2, 3, 4].map((r) => orderOf(r))).toEqual(['baseline-first', 'candidate-first', 'baseline-first', 'candidate-first']);
    expect([1, 2, 3].map((r) => orderOf(r, 'candidate'))).toEqual(['candidate-first', 'baseline-first', 'candidate-first']);
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('one repetition is the run itself', () => {
    const r = run('direct engine', 100, 20);
    expect(medianSummary([r])).toBe(r);
  });

  it('medians per field, CDFs of the median-throughput run, spread and paired ratios', () => {
    const pairs = [
      { order: orderOf(1), baseline: run('direct engine', 100, 20, { hit: 1 }), candidate: run('gateway', 120, 18, { hit: 0.5 }) },
      { order: orderOf(2), baseline: run('direct engine', 90, 30, { hit: 3 }), candidate: run('gateway', 135, 25, { hit: 0.7 }) },
      { order: orderOf(3), baseline: run('direct engine', 110, 25, { hit: 2 }), candidate: run('gateway', 99, 40, { hit: 0.6 }) },
    ];
    const { baseline, candidate, repetitions: r } = aggregateRepetitions(pairs);
    expect(baseline.outputTokPerS).toBe(100);
    expect(baseline.itlMs.p95).toBe(25);
    expect(baseline.extra.hit).toBe(2);
    expect(baseline.cdf.ttftMs).toEqual([[100, 1]]); // the 100 tok/s run
    expect(candidate.outputTokPerS).toBe(120);
    expect(candidate.itlMs.p95).toBe(25);
    expect(candidate.policy).toBe('gateway');
    expect(r.count).toBe(3);
    expect(r.runs.map((x) => x.order)).toEqual(['baseline-first', 'candidate-first', 'baseline-first']);
    expect(r.runs.map((x) => x.ratio.outputTokPerS)).toEqual([1.2, 1.5, 0.9]);
    expect(r.spread.ratio.outputTokPerS).toEqual({ min: 0.9, median: 1.2, max: 1.5 });
    expect(r.spread.baseline.outputTokPerS).toEqual({ min: 90, median: 100, max: 110 });
    expect(r.spread.candidate.itlP95).toEqual({ min: 18, median: 25, max: 40 });
    const curves = repetitionCurves(r, { baseline: 'direct engine', candidate: 'gateway' });
    expect(curves[0]!.points).toHaveLength(6);
    expect(curves[0]!.points[1]).toEqual({ series: 'candidate: gateway', x: 1, y: 120 });
  });

  it('the report table lists every repetition with min, median, max', () => {
    const pairs = [1, 2].map((i) => ({ order: orderOf(i), baseline: run('direct engine', 100 * i, 20), candidate: run('gateway', 110 * i, 20) }));
    const { baseline, candidate, repetitions } = aggregateRepetitions(pairs);
    const result = {
      scenario: 's', title: 't', description: 'd', mode: 'live' as const, seed: 1, baseline, candidate, rows: [], curves: [], capacity: [], passed: true, notes: [],
      live: { profile: 'gpu' as const, profileReason: 'test', model: 'gpu-1b', devices: { baseline: 'Device(gpu, 0)', candidate: 'Device(gpu, 0)' }, repetitions },
    };
    const t = repetitionsTable(result)!;
    expect(t.header).toEqual(['figure', 'side', 'rep 1 (b→c)', 'rep 2 (c→b)', 'min', 'median', 'max']);
    expect(t.rows[0]).toEqual(['output tok/s', 'baseline', '100', '200', '100', '150', '200']);
    expect(t.rows[2]).toEqual(['output tok/s', 'ratio', '1.10×', '1.10×', '1.10×', '1.10×', '1.10×']);
    expect(t.rows[3]).toEqual(['success rate', 'baseline', '100.0 %', '100.0 %', '100.0 %', '100.0 %', '100.0 %']);
    expect(repetitionsTable({ ...result, live: { ...result.live, repetitions: aggregateRepetitions(pairs.slice(0, 1)).repetitions } })).toBeNull();
  });
});
