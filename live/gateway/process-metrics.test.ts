// The gateway's process metrics (issue 18): CPU, memory, heap, GC and event-loop lag on the
// gateway's own registry, never prom-client's global one.
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESS_METRIC } from './metrics-names.js';
import { ADMIN_KEY, startHarness, type Harness } from './test-harness.js';

describe('process metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('serves every named process metric, event-loop lag included, on the gateway registry', async () => {
    const text = await (await h.fetch('/metrics', { key: ADMIN_KEY })).text();
    for (const name of Object.values(PROCESS_METRIC)) {
      // Linux-only gauges (resident memory, fds) are checked where the tests run: Linux.
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name}`, 'm'));
    }
    expect(await h.metric(PROCESS_METRIC.eventLoopLagSeconds)).toBeGreaterThanOrEqual(0);
    expect(await h.metric(PROCESS_METRIC.cpuSeconds)).toBeGreaterThan(0);
  });

  it('leaves the global registry alone', async () => {
    expect(globalRegistry.getSingleMetric(PROCESS_METRIC.eventLoopLagSeconds)).toBeUndefined();
    expect(globalRegistry.getSingleMetric('process_cpu_seconds_total')).toBeUndefined();
  });
});
