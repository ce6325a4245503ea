import { describe, expect, it } from 'vitest';
import { runInWorkers, simThreads, SIM_THREADS_ENV } from './parallel.js';

const FIXTURE = new URL('./parallel-fixture.ts', import.meta.url);

describe('runInWorkers (worker-thread pool)', () => {
  it('returns the results in the jobs\' order, whatever order they finish in', async () => {
    // The first jobs are the slowest: with 3 threads they finish last.
    const jobs = Array.from({ length: 7 }, (_, k) => ({ n: k, spinMs: k < 3 ? 150 - 50 * k : 0 }));
    expect(await runInWorkers(FIXTURE, jobs, 3)).toEqual([0, 1, 4, 9, 16, 25, 36]);
    expect(await runInWorkers(FIXTURE, [{ n: 5, spinMs: 0 }], 4)).toEqual([25]);
    expect(await runInWorkers(FIXTURE, [], 4)).toEqual([]);
  });

  it('rejects with the failing job\'s index and the worker\'s error', async () => {
    const jobs = [{ n: 1, spinMs: 0 }, { n: -3, spinMs: 0 }, { n: 2, spinMs: 0 }];
    await expect(runInWorkers(FIXTURE, jobs, 2)).rejects.toThrow(/parallel job 1 failed in a worker thread: Error: negative job -3/);
  });

  it('rejects when the worker module cannot be loaded', async () => {
    await expect(runInWorkers(new URL('./no-such-module.ts', import.meta.url), [{ n: 1, spinMs: 0 }], 1)).rejects.toThrow(/worker thread for .*no-such-module\.ts/);
  });
});

describe('simThreads', () => {
  it('one per core, at most one per job; the variable overrides; a bad value is refused', () => {
    expect(simThreads(1, {})).toBe(1);
    expect(simThreads(1000, {})).toBeGreaterThanOrEqual(1);
    expect(simThreads(12, { [SIM_THREADS_ENV]: '1' })).toBe(1);
    expect(simThreads(12, { [SIM_THREADS_ENV]: '4' })).toBe(4);
    expect(simThreads(3, { [SIM_THREADS_ENV]: '8' })).toBe(3);
    expect(() => simThreads(3, { [SIM_THREADS_ENV]: 'two' })).toThrow(/MLX_SERVING_SIM_THREADS must be an integer/);
    expect(() => simThreads(3, { [SIM_THREADS_ENV]: '0' })).toThrow(/MLX_SERVING_SIM_THREADS/);
  });
});
