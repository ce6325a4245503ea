import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import type { CanaryMargins } from '../config/types.js';
import { CanaryRouter, mergeDecisions } from './canary-router.js';
import { judgeCanary } from './rollback.js';
import { chooseVersion, versionAt } from './version-choice.js';
import { p95, VersionWindow } from './version-window.js';

const SPLIT = [{ version: 'v1', weight: 95 }, { version: 'v2', weight: 5 }];

describe('versionAt: the weights laid end to end on [0, W)', () => {
  it('gives each version its interval', () => {
    expect(versionAt(SPLIT, 0)).toBe('v1');
    expect(versionAt(SPLIT, 0.9499)).toBe('v1'); // 94.99 < 95
    expect(versionAt(SPLIT, 0.95)).toBe('v2'); // 95 is v2's first point
    expect(versionAt(SPLIT, 0.9999)).toBe('v2');
  });
  it('skips weight 0 and has no answer when every weight is 0', () => {
    expect(versionAt([{ version: 'a', weight: 0 }, { version: 'b', weight: 3 }], 0)).toBe('b');
    expect(versionAt([{ version: 'a', weight: 0 }], 0.5)).toBeUndefined();
    expect(versionAt([], 0.5)).toBeUndefined();
  });
});

describe('chooseVersion', () => {
  it('keeps a session on one version whatever the request', () => {
    for (let s = 0; s < 50; s++) {
      const first = chooseVersion(SPLIT, `session-${s}`, 'r0');
      for (let r = 1; r < 20; r++) expect(chooseVersion(SPLIT, `session-${s}`, `r${r}`)).toBe(first);
    }
  });
  it('splits requests without a session by weight (5 % ± 0.6 of 10,000)', () => {
    let v2 = 0;
    for (let r = 0; r < 10_000; r++) if (chooseVersion(SPLIT, undefined, `req-${r}`) === 'v2') v2++;
    expect(v2).toBeGreaterThan(440);
    expect(v2).toBeLessThan(560);
  });
  it('splits sessions by weight too (50/50 ± 3 of 2,000)', () => {
    const half = [{ version: 'a', weight: 1 }, { version: 'b', weight: 1 }];
    let a = 0;
    for (let s = 0; s < 2000; s++) if (chooseVersion(half, `user-${s}`, 'x') === 'a') a++;
    expect(a).toBeGreaterThan(940);
    expect(a).toBeLessThan(1060);
  });
});

const M: CanaryMargins = { maxErrorRateDelta: 0.05, maxLatencyRatio: 1.5, minRequests: 20 };

describe('judgeCanary (margins: +5 points of errors, ×1.5 TTFT p95, 20 samples)', () => {
  const stable = { requests: 100, errors: 2, ttftSamples: 100, ttftP95Ms: 100 };
  const fig = (requests: number, errors: number, ttftSamples: number, ttftP95Ms: number | undefined) => ({ requests, errors, ttftSamples, ttftP95Ms });
  it('waits until one check has its samples on both sides', () => {
    expect(judgeCanary(stable, fig(19, 19, 19, 5000), M)).toEqual({ action: 'wait', reason: 'too-few-requests' });
    expect(judgeCanary({ ...stable, requests: 10, ttftSamples: 10 }, fig(50, 50, 50, 5000), M).action).toBe('wait');
  });
  it('rolls back on an error rate 8 points above the stable one (10 % vs 2 %)', () => {
    const v = judgeCanary(stable, fig(20, 2, 18, 100), M);
    expect(v).toMatchObject({ action: 'rollback', reason: 'error-rate' });
    expect(v.action === 'rollback' && v.detail).toBe('error rate 10.0 % vs stable 2.0 % (margin +5.0 %)');
  });
  it('keeps a canary 3 points above (5 % vs 2 %)', () => {
    expect(judgeCanary(stable, fig(20, 1, 19, 100), M)).toEqual({ action: 'keep' });
  });
  it('rolls back on a TTFT p95 above 1.5× the stable one, keeps one at exactly 1.5×', () => {
    const v = judgeCanary(stable, fig(40, 0, 40, 151), M);
    expect(v).toMatchObject({ action: 'rollback', reason: 'latency' });
    expect(v.action === 'rollback' && v.detail).toBe('TTFT p95 151 ms vs stable 100 ms (margin ×1.5)');
    expect(judgeCanary(stable, fig(40, 0, 40, 150), M)).toEqual({ action: 'keep' });
  });
  it('judges latency from first tokens before the slow requests end (0 ended, 20 first tokens)', () => {
    expect(judgeCanary(stable, fig(0, 0, 20, 900), M)).toMatchObject({ action: 'rollback', reason: 'latency' });
    expect(judgeCanary(stable, fig(0, 0, 20, 120), M)).toEqual({ action: 'keep' });
  });
  it('rolls back a canary that served nothing on its error rate', () => {
    expect(judgeCanary(stable, fig(20, 20, 0, undefined), M)).toMatchObject({ action: 'rollback', reason: 'error-rate' });
  });
});

describe('VersionWindow', () => {
  it('p95 is the nearest rank: ceil(0.95 n)-th smallest', () => {
    expect(p95([])).toBeUndefined();
    expect(p95(Array.from({ length: 20 }, (_, i) => 20 - i))).toBe(19);
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
    expect(p95([7])).toBe(7);
  });
  it('counts the samples of the last windowMs only, and at most samplesMax', () => {
    const w = new VersionWindow(1000, 4);
    w.firstToken(0, 10);
    w.outcome(100, true);
    w.outcome(500, false);
    w.firstToken(900, 30);
    expect(w.figures(900)).toEqual({ requests: 2, errors: 1, ttftSamples: 2, ttftP95Ms: 30 });
    expect(w.figures(1000)).toEqual({ requests: 2, errors: 1, ttftSamples: 1, ttftP95Ms: 30 }); // the sample at 0 is 1000 ms old
    w.outcome(950, true);
    w.firstToken(960, 5); // 5 in the window, bound 4: the oldest (the outcome at 100) goes
    expect(w.figures(1000)).toEqual({ requests: 2, errors: 1, ttftSamples: 2, ttftP95Ms: 30 });
  });
});

function router(weights = [90, 10]): CanaryRouter {
  const cfg = resolveGatewayConfig({
    canary: { minRequests: 20, windowMs: 60_000, evaluateEveryMs: 1000, models: { llama: { stable: 'v1', versions: [{ version: 'v1', weight: weights[0] }, { version: 'v2', weight: weights[1] }] } } },
  });
  return new CanaryRouter(cfg.canary);
}

describe('CanaryRouter', () => {
  const all = () => true;
  it('routes a model without versions as itself, and a canaried one to <name>@<version>', () => {
    const r = router();
    expect(r.resolve('other', undefined, 'r1', all)).toBe('other');
    const ids = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) ids.add(r.resolve('llama', undefined, `r${i}`, all));
    expect([...ids].sort()).toEqual(['llama@v1', 'llama@v2']);
  });
  it('only picks versions some worker serves', () => {
    const r = router();
    for (let i = 0; i < 200; i++) expect(r.resolve('llama', undefined, `r${i}`, (id) => id === 'llama@v1')).toBe('llama@v1');
    expect(r.resolve('llama', undefined, 'r', () => false)).toBeUndefined();
  });
  it('rolls back a failing canary once, sets its weight to 0 and routes no more to it', () => {
    const r = router([50, 50]);
    for (let i = 0; i < 20; i++) {
      r.recordOutcome('llama@v1', true, 1000 + i);
      r.recordOutcome('llama@v2', i % 4 !== 0, 1000 + i); // 5 of 20 fail: 25 % vs 0 %
    }
    expect(r.evaluate(999 + 20)).toHaveLength(1);
    const [first] = r.status(2000);
    expect(first!.versions.map((v) => [v.version, v.weight, v.role])).toEqual([['v1', 50, 'stable'], ['v2', 0, 'rolled-back']]);
    expect(first!.rollbacks).toBe(1);
    expect(r.evaluate(5000)).toEqual([]);
    for (let i = 0; i < 200; i++) expect(r.resolve('llama', undefined, `r${i}`, all)).toBe('llama@v1');
  });
  it('keeps a healthy canary, and judges at most every evaluateEveryMs', () => {
    const r = router([50, 50]);
    for (let i = 0; i < 30; i++) {
      r.recordFirstToken('llama@v1', 100, 10 + i);
      r.recordFirstToken('llama@v2', 110, 10 + i);
    }
    expect(r.evaluate(100)).toEqual([]);
    for (let i = 0; i < 30; i++) r.recordFirstToken('llama@v2', 1000, 200 + i); // now p95 1000 ms vs 100
    expect(r.evaluate(500)).toEqual([]); // not due before 1100
    const [rb] = r.evaluate(1100);
    expect(rb).toMatchObject({ model: 'llama', version: 'v2', stable: 'v1', reason: 'latency' });
  });
  it('promote makes a version stable with all the traffic; unknown names are error values', () => {
    const r = router();
    expect(r.promote('llama', 'v2')).toEqual({ ok: true });
    expect(r.status(0)[0]!.versions.map((v) => [v.version, v.weight, v.role])).toEqual([['v1', 0, 'inactive'], ['v2', 100, 'stable']]);
    for (let i = 0; i < 100; i++) expect(r.resolve('llama', `s${i}`, 'x', all)).toBe('llama@v2');
    expect(r.promote('llama', 'v9')).toMatchObject({ ok: false });
    expect(r.promote('mistral', 'v1')).toMatchObject({ ok: false });
  });
  it('shares decisions: a rollback elsewhere applies here, a later promotion wins, stale decisions do not undo', () => {
    const a = router([50, 50]);
    const b = router([50, 50]);
    for (let i = 0; i < 20; i++) {
      a.recordOutcome('llama@v1', true, 1000 + i);
      a.recordOutcome('llama@v2', i % 4 !== 0, 1000 + i);
    }
    expect(a.evaluate(1019)).toHaveLength(1);
    expect(a.decisions('llama')).toEqual({ stable: 'v1', rolledBack: ['v2'], epoch: 0 });
    expect(b.applyDecisions('llama', a.decisions('llama')!)).toBe(true);
    expect(b.status(0)[0]!.versions.map((v) => [v.version, v.weight, v.role])).toEqual([['v1', 50, 'stable'], ['v2', 0, 'rolled-back']]);
    expect(b.applyDecisions('llama', a.decisions('llama')!)).toBe(false); // nothing new
    expect(b.applyDecisions('llama', { stable: 'v1', rolledBack: [], epoch: 0 })).toBe(false); // a stale view undoes nothing
    expect(b.promote('llama', 'v2')).toEqual({ ok: true });
    expect(b.decisions('llama')).toEqual({ stable: 'v2', rolledBack: [], epoch: 1 });
    expect(a.applyDecisions('llama', b.decisions('llama')!)).toBe(true);
    expect(a.status(0)[0]!.versions.map((v) => [v.version, v.weight, v.role])).toEqual([['v1', 0, 'inactive'], ['v2', 50, 'stable']]);
    expect(a.applyDecisions('mistral', b.decisions('llama')!)).toBe(false);
    expect(a.applyDecisions('llama', { stable: 'v9', rolledBack: [], epoch: 5 })).toBe(false);
  });
  it('merges two decisions into one that holds both, the same whichever order', () => {
    const x = { stable: 'v1', rolledBack: ['v2'], epoch: 0 };
    const y = { stable: 'v1', rolledBack: ['v3'], epoch: 0 };
    expect(mergeDecisions(x, y)).toEqual({ stable: 'v1', rolledBack: ['v2', 'v3'], epoch: 0 });
    expect(mergeDecisions(y, x)).toEqual(mergeDecisions(x, y));
    const later = { stable: 'v3', rolledBack: [], epoch: 1 };
    expect(mergeDecisions(x, later)).toBe(later);
    expect(mergeDecisions(later, x)).toBe(later);
    const rival = { stable: 'v2', rolledBack: [], epoch: 1 };
    expect(mergeDecisions(later, rival)).toEqual(mergeDecisions(rival, later));
  });
});
