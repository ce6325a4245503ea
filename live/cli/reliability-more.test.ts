// A slow worker and NATS restarts as reliability scenarios (issue 8), small sizes, real processes
// (echo worker nodes over gRPC, a real nats-server -js, the gateway over HTTP). The same scenarios,
// longer, go into `npm run reliability`'s report.
import { describe, expect, it } from 'vitest';
import { natsRestartScenario, slowWorkerScenario } from './reliability-more-scenarios.js';
import type { ScenarioResult } from './reliability-scenarios.js';

const show = (r: ScenarioResult) => JSON.stringify(r, null, 1);

describe('reliability under faults, continued (real processes)', () => {
  it('a slow worker loses traffic; once stuck, the breaker timeout moves its requests elsewhere: 0 lost, 0 hangs', async () => {
    const r = await slowWorkerScenario({ warmMs: 1000, tailMs: 1500, concurrency: 8 });
    expect(r.load.sent, show(r)).toBeGreaterThan(20);
    expect(r.load.lost, show(r)).toBe(0);
    expect(r.load.hangs, show(r)).toBe(0);
    expect(r.load.ok, show(r)).toBe(r.load.sent);
    // Roughly a fair share while fast; clearly less once slow.
    expect(r.figures.shareBefore, show(r)).toBeGreaterThan(0.15);
    expect(r.figures.shareSlow, show(r)).toBeLessThan(r.figures.shareBefore / 2);
    // Stuck: the breaker opened on the no-progress timeout and the requests caught there were retried.
    expect(r.timings.breakerOpenAfterStuckMs, show(r)).not.toBeNull();
    expect(r.figures.breakerTripsWhileStuck, show(r)).toBeGreaterThan(0);
    expect(r.figures.timedOutOnStuck, show(r)).toBeGreaterThan(0);
    expect(r.figures.retriesWhileStuck, show(r)).toBeGreaterThanOrEqual(r.figures.timedOutOnStuck);
  }, 60_000);

  it('NATS stops and restarts under load: routing continues, 0 lost, 0 hangs, the registry view resynchronises', async () => {
    const r = await natsRestartScenario({ warmMs: 700, tailMs: 700, concurrency: 6 }, { outageMs: 2_000 });
    expect(r.load.sent, show(r)).toBeGreaterThan(20);
    expect(r.load.lost, show(r)).toBe(0);
    expect(r.load.hangs, show(r)).toBe(0);
    // While NATS was down (past the records' TTL) both workers stayed linked and served.
    expect(r.figures.outageMs, show(r)).toBeGreaterThanOrEqual(2_000);
    expect(r.figures.workersKnownDuringOutageMin, show(r)).toBe(2);
    expect(r.figures.sentDuringOutage, show(r)).toBeGreaterThan(5);
    expect(r.figures.okDuringOutage, show(r)).toBe(r.figures.sentDuringOutage);
    // Resynchronised: heartbeats resumed, a new worker appeared and served, a silent one was removed.
    expect(r.figures.heartbeatsResumedMs, show(r)).not.toBeNull();
    expect(r.figures.newWorkerLinkedMs, show(r)).not.toBeNull();
    expect(r.figures.newWorkerServingMs, show(r)).not.toBeNull();
    expect(r.figures.staleWorkerRemovedMs, show(r)).not.toBeNull();
  }, 60_000);
});
