// Faults and a soak over real OS processes: worker node processes (live/worker/main.ts) each driving
// a python runtime of the tiny model, and (in the soak) a gateway process. A worker node SIGKILLed
// under load loses no retryable request and leaves no orphaned runtime behind; a short soak keeps
// memory and descriptors flat and every process exits on SIGTERM. The long versions make
// `npm run reliability`'s report (live/cli/reliability.ts).
import { describe, expect, it } from 'vitest';
import { nodeKillScenario } from './node-kill-scenario.js';
import { processSoak } from './process-soak.js';

describe('faults over real processes', () => {
  it('a worker node process SIGKILLed under load: 0 retryable requests lost, no orphaned runtime, it serves again after a restart', async () => {
    const r = await nodeKillScenario({ warmMs: 1500, tailMs: 1000, concurrency: 4 });
    const show = JSON.stringify(r, null, 1);
    expect(r.load.sent, show).toBeGreaterThan(10);
    expect(r.load.lost, show).toBe(0);
    expect(r.load.hangs, show).toBe(0);
    expect(r.load.ok + r.load.failedClear, show).toBe(r.load.sent);
    expect(r.timings.outOfRoutingAfterKillMs, show).not.toBeNull();
    expect(r.timings.orphanedRuntimeExitedAfterKillMs, show).not.toBeNull();
    expect(r.timings.breakerClosedAndServingAfterRestartMs, show).not.toBeNull();
    expect(r.leaked, show).toBe(0);
  }, 90_000);

  it('a short soak: no failed request, flat memory and descriptors, every process gone after SIGTERM', async () => {
    const r = await processSoak({ durationMs: 15_000, sampleEveryMs: 3_000, concurrency: 4 });
    const show = JSON.stringify({ ...r, samples: r.samples.slice(-2) }, null, 1);
    expect(r.load.sent, show).toBeGreaterThan(50);
    // Both worker nodes and both runtimes were sampled, and the gateway.
    expect(r.roles.map((x) => x.role).sort(), show).toEqual(['gateway', 'w1', 'w1/runtime-1', 'w2', 'w2/runtime-1']);
    expect(r.failures, show).toEqual([]);
    expect(r.leftAfterStop, show).toBe(0);
    expect(r.pass, show).toBe(true);
  }, 90_000);
});
