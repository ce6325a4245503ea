// The sim fault scenarios (catalog/faults.ts) meet their targets, and what they claim really happens:
// the slow worker's share drops under latency-aware routing; the drained rolling restart loses nothing.
import { describe, expect, it } from 'vitest';
import { findScenario } from './catalog/index.js';
import { defineScenario } from './define.js';
import { runScenarioSim } from './run.js';

const slow = findScenario('slow-worker')!;
const rolling = findScenario('rolling-restart')!;
const runtimeCrash = findScenario('runtime-crash')!;
const idleUnload = findScenario('idle-unload')!;

describe('slow-worker scenario', async () => {
  const r = await runScenarioSim(slow);
  it('meets its targets and is not in the default suite', () => {
    expect(slow.inDefaultSuite).toBe(false);
    expect(r.rows.filter((x) => x.pass === false)).toEqual([]);
    expect(r.passed).toBe(true);
  });

  it('round-robin keeps feeding the slow worker; latency-aware mostly avoids it', () => {
    const b = r.baseline!.extra;
    const c = r.candidate.extra;
    expect(b.windowDispatches).toBe(c.windowDispatches);
    expect(b.windowDispatches).toBeGreaterThan(200);
    expect(b.slowWorkerShare).toBeGreaterThan(0.1);
    expect(c.slowWorkerShare!).toBeLessThan(b.slowWorkerShare! / 3);
    expect(c.slowWorkerDispatches).toBeGreaterThan(0); // still probed: latency-aware measures every worker
    expect(r.candidate.e2eMs.p95).toBeLessThan(r.baseline!.e2eMs.p95 / 2);
  });
});

describe('runtime-crash scenario', async () => {
  const r = await runScenarioSim(runtimeCrash);
  it('meets its target and is not in the default suite', () => {
    expect(runtimeCrash.inDefaultSuite).toBe(false);
    expect(r.rows.filter((x) => x.pass === false)).toEqual([]);
  });

  it('the gateway core retries requests lost before their first token (runtime_lost); without gateway retries they fail', () => {
    expect(r.candidate.extra.runtimeCrashes).toBe(8);
    expect(r.candidate.extra.runtimeLost).toBeGreaterThan(0);
    expect(r.baseline!.extra.runtimeLost).toBeGreaterThan(0);
    expect(r.baseline!.extra.retries).toBe(0);
    expect(r.candidate.extra.retries).toBeGreaterThan(0);
    expect(r.baseline!.extra.retryableSuccessRate).toBeLessThan(1);
    expect(r.candidate.extra.retryableSuccessRate).toBeGreaterThan(r.baseline!.extra.retryableSuccessRate!);
    expect(r.candidate.extra.retryableSuccessRate).toBeGreaterThanOrEqual(0.99);
  });

  it('is byte-identical for one seed', async () => {
    expect(JSON.stringify(await runScenarioSim(runtimeCrash))).toBe(JSON.stringify(r));
  });
});

describe('rolling-restart scenario', async () => {
  const r = await runScenarioSim(rolling);
  it('meets its targets and is not in the default suite', () => {
    expect(rolling.inDefaultSuite).toBe(false);
    expect(r.rows.filter((x) => x.pass === false)).toEqual([]);
  });

  it('the drained restart completes with nothing cut; the crash-style one fails streamed requests', () => {
    const c = r.candidate.extra;
    expect(c.rollingWorkersRestarted).toBe(4);
    expect(c.rollingCutInFlight).toBe(0);
    expect(r.candidate.failed).toBe(0);
    for (const w of ['w000', 'w001', 'w002', 'w003']) {
      expect(c[`${w}DrainMs`]).toBeGreaterThan(0);
      expect(c[`${w}ReadyMs`]).toBeGreaterThan(0);
    }
    expect(c.rollingTotalMs).toBeGreaterThan(0);
    expect(r.baseline!.extra.rollingCutInFlight).toBeGreaterThan(0);
    expect(r.baseline!.failed).toBeGreaterThan(0);
    expect(r.baseline!.extra.failedAfterTokens).toBeGreaterThan(0);
  });

  it('is byte-identical for one seed', async () => {
    expect(JSON.stringify(await runScenarioSim(rolling))).toBe(JSON.stringify(r));
  });

  it('refuses a rolling restart that could never take a worker out, naming the field', () => {
    expect(() => defineScenario({ ...rolling, faults: { rollingRestart: { ...rolling.faults!.rollingRestart!, minHealthyWorkers: 4 } } })).toThrow(/rolling-restart: faults .*rollingRestart\.minHealthyWorkers/);
  });
});

describe('idle-unload scenario (sim idle unload and prewarm, core/worker/model-lifecycle.ts)', async () => {
  const r = await runScenarioSim(idleUnload);
  it('meets its targets and is not in the default suite', () => {
    expect(idleUnload.inDefaultSuite).toBe(false);
    expect(r.rows.filter((x) => x.pass === false)).toEqual([]);
  });

  it('without prewarm every later burst pays a model load; with it the hot model stays loaded', () => {
    expect(r.baseline!.extra.idleUnloads).toBe(4);
    expect(r.baseline!.extra.coldStarts).toBe(4);
    expect(r.candidate.extra.coldStarts).toBe(0);
    expect(r.candidate.extra.prewarms).toBeGreaterThan(0);
    expect(r.candidate.succeeded).toBe(r.baseline!.succeeded);
  });

  it('is byte-identical for one seed', async () => {
    expect(JSON.stringify(await runScenarioSim(idleUnload))).toBe(JSON.stringify(r));
  });
});

