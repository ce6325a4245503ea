// Merging live runs of one repetition each: the same aggregate as one run of N repetitions, refusals
// of what does not belong together, and the CLI end to end (results.json in, a report out).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary, ScenarioResult } from '../../reports/result.js';
import { findScenario } from '../catalog/index.js';
import { buildRows } from '../targets.js';
import { aggregateRepetitions, orderOf, type RepetitionPair } from './repeat.js';
import { mergeLiveRuns, MergeError } from './merge.js';

const def = findScenario('phase3-high-concurrency')!;
const pct = (p50: number, p95: number) => ({ p50, p95, p99: p95 * 1.1, max: p95 * 2, mean: p50 });
function side(policy: string, tok: number, itl95: number): RunSummary {
  return {
    policy, workers: 1, requests: 100, succeeded: 100, failed: 0, rejected: 0, durationMs: 45_000, outputTokens: tok * 45,
    outputTokPerS: tok, successRate: 1, ttftMs: pct(100, 300), itlMs: pct(itl95 / 2, itl95), e2eMs: pct(1000, 3000), queueMs: pct(0, 0), extra: {},
    cdf: { ttftMs: [[tok, 1]], e2eMs: [], itlMs: [] }, timeline: [{ tMs: 0, outputTokPerS: tok, inFlight: 1 }],
  };
}
function oneRun(pair: RepetitionPair, note: string, errors = 0): ScenarioResult {
  const { baseline, candidate, repetitions } = aggregateRepetitions([pair]);
  const rows = buildRows(baseline, candidate, def.targets, def.report);
  return {
    scenario: def.name, title: def.title, description: def.description, mode: 'live', seed: def.seed,
    baseline, candidate, rows, curves: [], capacity: [], passed: rows.every((r) => r.pass !== false), notes: ['shared note', note],
    live: {
      profile: 'gpu', profileReason: 'test', model: 'gpu-1b', devices: { baseline: 'gpu', candidate: 'gpu' }, repetitions,
      errors: { baseline: [], candidate: errors > 0 ? [{ code: 'timeout', failed: errors, rejected: 0 }] : [] },
    },
  };
}
const pairs: RepetitionPair[] = [
  { order: orderOf(1), baseline: side('mlx_lm.server', 500, 190), candidate: side('gateway', 650, 110) },
  { order: orderOf(2), baseline: side('mlx_lm.server', 560, 180), candidate: side('gateway', 640, 125) },
  { order: orderOf(3), baseline: side('mlx_lm.server', 530, 200), candidate: side('gateway', 700, 115) },
];

describe('mergeLiveRuns', () => {
  it('gives what one run of the same repetitions gives', () => {
    const runs = pairs.map((p, i) => oneRun(p, `run ${i}`, i));
    const merged = mergeLiveRuns(def, runs, ['a', 'b', 'c']);
    const whole = aggregateRepetitions(pairs);
    expect(merged.baseline).toEqual(whole.baseline);
    expect(merged.candidate).toEqual(whole.candidate);
    expect(merged.live!.repetitions).toEqual(whole.repetitions);
    expect(merged.rows).toEqual(buildRows(whole.baseline, whole.candidate, def.targets, def.report));
    expect(merged.live!.repetitions.runs.map((r) => r.order)).toEqual(['baseline-first', 'candidate-first', 'baseline-first']);
    expect(merged.live!.errors!.candidate).toEqual([{ code: 'timeout', failed: 3, rejected: 0 }]);
    expect(merged.notes[0]).toBe('shared note');
    expect(merged.notes).toContain('repetition 2: run 1');
    expect(merged.curves.length).toBeGreaterThan(0);
    const itl = merged.rows.find((r) => r.metric === 'ITL p95')!;
    expect(itl.candidate).toBe(115);
    expect(itl.pass).toBe(true);
  });

  it('refuses runs that do not belong together', () => {
    const [a, b] = [oneRun(pairs[0]!, 'x'), oneRun(pairs[1]!, 'y')];
    expect(() => mergeLiveRuns(def, [a], ['a'])).toThrow(MergeError);
    expect(() => mergeLiveRuns(def, [a, { ...b, live: { ...b.live!, model: 'gpu-8b' } }], ['a', 'b'])).toThrow(/model gpu-8b/);
    expect(() => mergeLiveRuns(def, [a, { ...b, seed: 1 }], ['a', 'b'])).toThrow(/seed 1/);
    expect(() => mergeLiveRuns(def, [a, { ...b, scenario: 'phase2-mixed' }], ['a', 'b'])).toThrow(/scenario phase2-mixed/);
    const two = aggregateRepetitions(pairs.slice(0, 2));
    expect(() => mergeLiveRuns(def, [a, { ...b, live: { ...b.live!, repetitions: two.repetitions } }], ['a', 'b'])).toThrow(/2 repetitions/);
    expect(() => mergeLiveRuns(def, [a, { ...b, mode: 'sim', live: undefined }], ['a', 'b'])).toThrow(/not a live result/);
  });
});

describe('scenarios/merge-live.ts', () => {
  const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
  it('writes the merged report from results.json folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-live-'));
    const ins = pairs.map((p, i) => {
      const d = join(dir, `r${i + 1}`);
      mkdirSync(d);
      writeFileSync(join(d, 'results.json'), JSON.stringify([oneRun(p, `run ${i}`)]));
      return d;
    });
    const out = join(dir, 'merged');
    const stdout = execFileSync(tsx, ['scenarios/merge-live.ts', '--out', out, ...ins], { encoding: 'utf8' });
    expect(stdout).toContain('phase3-high-concurrency: 3 repetitions merged');
    const [merged] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ScenarioResult[];
    expect(merged!.live!.repetitions.count).toBe(3);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('3 repetitions of each side, run as 3 invocations');
    expect(existsSync(join(out, 'charts'))).toBe(true);
  }, 60_000);

  it('exits 2 with a message on a bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-live-bad-'));
    writeFileSync(join(dir, 'results.json'), '{"not": "an array"}');
    const r = spawnSync(tsx, ['scenarios/merge-live.ts', '--out', join(dir, 'o'), dir, dir], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('not a results.json');
  }, 60_000);
});
