import { describe, expect, it } from 'vitest';
import { canaryRollout } from './catalog/canary.js';
import { figures } from './canary-figures.js';
import { runScenarioSim } from './run.js';

describe('canary figures', () => {
  it('counts rollbacks per version, their time, and dispatch shares over the run and after a promotion', () => {
    const log = {
      rollbacks: [{ atMs: 42_500, model: 'm', version: 'v2', reason: 'latency' }],
      dispatches: [
        { atMs: 1000, model: 'm@v1', count: 6 }, { atMs: 2000, model: 'm@v2', count: 2 }, { atMs: 3000, model: 'm@v3', count: 2 },
        { atMs: 10_000, model: 'm@v3', count: 9 }, { atMs: 10_001, model: 'm@v1', count: 1 },
      ],
    };
    const def = { workerVersions: ['v1', 'v2', 'v3', 'v3'], promotions: [{ atMs: 10_000, version: 'v3' }] };
    expect(figures(log, def, true)).toEqual({
      'canaryRollbacks.v1': 0, 'dispatchShare.v1': 0.35, // 7 of 20
      'canaryRollbacks.v2': 1, 'canaryRollbackAtS.v2': 42.5, 'dispatchShare.v2': 0.1,
      'canaryRollbacks.v3': 0, 'dispatchShare.v3': 0.55,
      'dispatchShareAfterPromotion.v3': 0.9, // 9 of the 10 from 10 s on
    });
    expect(figures(log, def, false)).not.toHaveProperty('dispatchShareAfterPromotion.v3');
  });

  it('the scenario: the bad canary is rolled back, the good one kept and promoted, the same seed gives the same result byte for byte', async () => {
    const a = await runScenarioSim(canaryRollout);
    expect(a.rows.filter((r) => r.pass === false).map((r) => r.metric)).toEqual([]);
    expect(a.rows.filter((r) => r.pass === true)).toHaveLength(6);
    expect(a.passed).toBe(true);
    expect(a.candidate.extra['canaryRollbacks.v2']).toBe(1);
    expect(a.candidate.extra['canaryRollbacks.v3']).toBe(0);
    expect(a.baseline?.extra['canaryRollbacks.v2']).toBe(0);
    const b = await runScenarioSim(canaryRollout);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
