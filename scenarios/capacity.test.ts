import { afterEach, describe, expect, it } from 'vitest';
import { SIM_THREADS_ENV } from '../sim/capacity/parallel.js';
import { capacitySmall } from './catalog/capacity.js';
import { defineScenario } from './define.js';
import { runScenarioSim } from './run.js';

// capacity-small on a 30 s workload instead of 120 s: the same searches (seeds, calibrations,
// sensitivity), a quarter of the simulated time.
const small = defineScenario({ ...capacitySmall, workload: { ...capacitySmall.workload, durationMs: 30_000 } });

describe('capacity answers on worker threads (MLX_SERVING_SIM_THREADS)', () => {
  const saved = process.env[SIM_THREADS_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SIM_THREADS_ENV];
    else process.env[SIM_THREADS_ENV] = saved;
  });

  it('gives the same result byte for byte in-process (1) and on 2 threads', async () => {
    process.env[SIM_THREADS_ENV] = '1';
    const sequential = JSON.stringify(await runScenarioSim(small));
    process.env[SIM_THREADS_ENV] = '2';
    const parallel = JSON.stringify(await runScenarioSim(small));
    expect(parallel).toBe(sequential);
    const r = JSON.parse(parallel) as Awaited<ReturnType<typeof runScenarioSim>>;
    expect(r.capacity[0]!.seedSpread?.workers).toHaveLength(5);
    expect(r.capacity[0]!.sensitivity).toHaveLength(6);
  }, 60_000);

  it('refuses a bad MLX_SERVING_SIM_THREADS', async () => {
    process.env[SIM_THREADS_ENV] = 'many';
    await expect(runScenarioSim(small)).rejects.toThrow(/MLX_SERVING_SIM_THREADS must be an integer/);
  });
});
