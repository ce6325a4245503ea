// Faults with counts, against real processes (echo worker nodes for gateway-level faults, a real
// worker node with python runtimes for the runtime kill): no retryable request is lost, streams
// under way end with an explicit error event and [DONE], nothing hangs, capacity comes back.
// The same scenarios, longer, make `npm run reliability`'s report (live/cli/reliability.ts).
import { describe, expect, it } from 'vitest';
import { overloadScenario, rollingRestartScenario, runtimeKillScenario, workerKillScenario, type ScenarioResult } from './reliability-scenarios.js';

const SMALL = { warmMs: 800, tailMs: 800, concurrency: 6 };

function show(r: ScenarioResult): string {
  return JSON.stringify(r, null, 1);
}

describe('reliability under faults (real processes)', () => {
  it('a worker node killed under load: 0 retryable requests lost, broken streams end with error + [DONE], breaker opens and closes again', async () => {
    const r = await workerKillScenario(SMALL);
    expect(r.load.sent, show(r)).toBeGreaterThan(20);
    expect(r.load.lost, show(r)).toBe(0);
    expect(r.load.hangs, show(r)).toBe(0);
    expect(r.load.ok + r.load.failedClear, show(r)).toBe(r.load.sent);
    expect(r.timings.breakerOpenAfterKillMs, show(r)).not.toBeNull();
    expect(r.timings.breakerClosedAfterRestartMs, show(r)).not.toBeNull();
  }, 60_000);

  it('a python runtime SIGKILLed under load: 0 retryable requests lost, the runtime comes back', async () => {
    const r = await runtimeKillScenario({ warmMs: 1500, tailMs: 1000, concurrency: 4 });
    expect(r.load.sent, show(r)).toBeGreaterThan(4);
    expect(r.load.lost, show(r)).toBe(0);
    expect(r.load.hangs, show(r)).toBe(0);
    expect(r.timings.runtimeBackAfterKillMs, show(r)).not.toBeNull();
  }, 90_000);

  it('a rolling restart of 3 workers under load: 0 failed requests, every worker restarted', async () => {
    const r = await rollingRestartScenario(SMALL);
    expect(r.notes[0], show(r)).toBe('state: done');
    expect(r.notes[1], show(r)).toBe('workers restarted: 3');
    expect(r.load.sent, show(r)).toBeGreaterThan(20);
    expect(r.load.ok, show(r)).toBe(r.load.sent);
  }, 60_000);

  it('the watchdog refuses to take a worker out below minHealthyWorkers', async () => {
    const r = await rollingRestartScenario({ warmMs: 200, tailMs: 100, concurrency: 2 }, { workers: 2, minHealthyWorkers: 2 });
    expect(r.notes[0], show(r)).toMatch(/^state: aborted \(watchdog/);
    expect(r.notes[1], show(r)).toBe('workers restarted: 0');
    expect(r.load.ok, show(r)).toBe(r.load.sent);
  }, 60_000);

  it('overload is shed at once with 503/429 and Retry-After, never a client timeout; repeats come from the cache', async () => {
    const r = await overloadScenario({ warmMs: 800, tailMs: 700, concurrency: 16 });
    expect(r.load.hangs, show(r)).toBe(0);
    const refusals = Object.entries(r.load.byCode);
    expect(refusals.length, show(r)).toBeGreaterThan(0);
    for (const [code] of refusals) expect(['queue_full', 'queue_timeout', 'overloaded'], show(r)).toContain(code);
    expect(r.notes[0], show(r)).toMatch(/^shed with 429\/503: (\d+), of which with a Retry-After header: \1$/);
    expect(r.load.ok, show(r)).toBeGreaterThan(0);
    expect(Number(/served from the response cache: (\d+)/.exec(r.notes[2]!)![1]), show(r)).toBeGreaterThan(0);
  }, 60_000);
});
