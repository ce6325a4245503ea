import { describe, expect, it } from 'vitest';
import type { WorkerInfo } from '../gateway/gateway-core.js';
import { othersServing, RollingRestartPlan, type RollingRestartParams } from './rolling-restart.js';

const P: RollingRestartParams = { minHealthyWorkers: 2, waitHealthyMs: 1000, drainTimeoutMs: 5000, readyTimeoutMs: 3000 };

function info(id: string, over: Partial<WorkerInfo> = {}): WorkerInfo {
  return { id, models: ['m'], healthy: true, draining: false, breaker: 'closed', inFlight: 0, maxConcurrent: 4, kvUsedFraction: 0, ...over };
}

describe('rolling restart plan', () => {
  it('drains, waits for in-flight, restarts, waits for ready, then the next worker', () => {
    const plan = new RollingRestartPlan(['a', 'b'], P, 0);
    const ws = [info('a', { inFlight: 2 }), info('b'), info('c')];
    expect(plan.step(0, { workers: ws })).toEqual({ type: 'drain', workerId: 'a' });
    expect(plan.step(100, { workers: [info('a', { draining: true, inFlight: 1 }), ws[1]!, ws[2]!] })).toEqual({ type: 'wait' });
    expect(plan.step(200, { workers: [info('a', { draining: true }), ws[1]!, ws[2]!], driverInFlight: 1 })).toEqual({ type: 'wait' });
    expect(plan.step(300, { workers: [info('a', { draining: true }), ws[1]!, ws[2]!] })).toEqual({ type: 'restart', workerId: 'a', cutInFlight: 0 });
    expect(plan.step(400, { workers: ws })).toEqual({ type: 'wait' });
    plan.restarted(1300);
    expect(plan.step(1400, { workers: [info('a', { healthy: false }), ws[1]!, ws[2]!] })).toEqual({ type: 'wait' });
    expect(plan.step(1400, { workers: [info('a'), ws[1]!, ws[2]!], connected: false })).toEqual({ type: 'wait' });
    // a is back: its record is written and b is drained in the same step
    expect(plan.step(2000, { workers: [info('a'), ws[1]!, ws[2]!] })).toEqual({ type: 'drain', workerId: 'b' });
    expect(plan.done).toEqual([{ id: 'a', outAtMs: 0, drainMs: 300, cutInFlight: 0, restartMs: 1000, readyMs: 700 }]);
    expect(plan.current).toBe('b');
  });

  it('judges the next worker on its own in-flight, not the driver’s count for the worker just finished (crash-style)', () => {
    const plan = new RollingRestartPlan(['a', 'b'], { ...P, minHealthyWorkers: 1, drain: false }, 0);
    const ws = [info('a', { inFlight: 3 }), info('b', { inFlight: 1 }), info('c')];
    expect(plan.step(0, { workers: ws, driverInFlight: 3 })).toEqual({ type: 'restart', workerId: 'a', cutInFlight: 3 });
    plan.restarted(100);
    // a is back; the driver still reports a's link count (5) in this observation
    expect(plan.step(200, { workers: [info('a'), ws[1]!, ws[2]!], driverInFlight: 5 })).toEqual({ type: 'restart', workerId: 'b', cutInFlight: 1 });
  });

  it('never takes a worker out while fewer than minHealthyWorkers others serve; aborts after waitHealthyMs', () => {
    const plan = new RollingRestartPlan(['a'], P, 0);
    const ws = [info('a'), info('b'), info('c', { breaker: 'open' }), info('d', { draining: true }), info('e', { models: ['other'] })];
    expect(othersServing(ws, 'a')).toBe(1);
    expect(plan.step(500, { workers: ws })).toEqual({ type: 'wait' });
    expect(plan.step(1000, { workers: ws })).toEqual({ type: 'wait' });
    const r = plan.step(1001, { workers: ws });
    expect(r.type).toBe('aborted');
    expect(plan.phase).toBe('aborted');
    expect(plan.done).toEqual([]);
  });

  it('cuts what is left after drainTimeoutMs; without drain it restarts at once', () => {
    const plan = new RollingRestartPlan(['a'], P, 0);
    const ws = [info('a', { inFlight: 3 }), info('b'), info('c')];
    expect(plan.step(0, { workers: ws }).type).toBe('drain');
    expect(plan.step(4999, { workers: ws }).type).toBe('wait');
    expect(plan.step(5000, { workers: ws })).toEqual({ type: 'restart', workerId: 'a', cutInFlight: 3 });
    const crash = new RollingRestartPlan(['a'], { ...P, drain: false }, 0);
    expect(crash.step(10, { workers: ws })).toEqual({ type: 'restart', workerId: 'a', cutInFlight: 3 });
  });

  it('fails when the restarted worker is not ready within readyTimeoutMs', () => {
    const plan = new RollingRestartPlan(['a'], P, 0);
    const ws = [info('a'), info('b'), info('c')];
    plan.step(0, { workers: ws });
    plan.step(0, { workers: ws });
    plan.restarted(10);
    expect(plan.step(3010, { workers: [info('a', { models: [] }), ws[1]!, ws[2]!] }).type).toBe('wait');
    expect(plan.step(3011, { workers: [info('a', { models: [] }), ws[1]!, ws[2]!] })).toMatchObject({ type: 'failed', reason: expect.stringMatching(/worker a was not healthy/) });
    expect(() => plan.restarted(4000)).toThrow(/phase failed/);
  });

  it('reports the reasons a driver shows (watchdog abort, unknown worker) verbatim', () => {
    const ws = [info('a'), info('b')];
    const plan = new RollingRestartPlan(['a'], P, 0);
    expect(plan.step(1001, { workers: ws })).toEqual({
      type: 'aborted',
      reason: "watchdog: fewer than 2 other healthy worker(s) for a's models within 1000 ms; stopped before taking a out",
    });
    expect(plan.reason).toMatch(/^watchdog/);
    expect(plan.finishedAtMs).toBe(1001);
    const unknown = new RollingRestartPlan(['zz'], P, 0);
    expect(unknown.step(5, { workers: ws })).toEqual({ type: 'failed', reason: 'no worker with id "zz"' });
  });

  it('fail(): a driver that cannot carry out an action ends the plan as failed, keeping finished records', () => {
    const ws = [info('a'), info('b'), info('c')];
    const plan = new RollingRestartPlan(['a', 'b'], P, 0);
    expect(plan.step(0, { workers: ws }).type).toBe('drain');
    expect(plan.step(10, { workers: ws }).type).toBe('restart');
    plan.restarted(20);
    expect(plan.step(30, { workers: ws })).toEqual({ type: 'drain', workerId: 'b' });
    expect(plan.step(40, { workers: ws }).type).toBe('restart');
    plan.fail(50, 'restart hook threw');
    expect(plan.phase).toBe('failed');
    expect(plan.finished).toBe(true);
    expect(plan.current).toBeUndefined();
    expect(plan.reason).toBe('restart hook threw');
    expect(plan.finishedAtMs).toBe(50);
    expect(plan.done.map((r) => r.id)).toEqual(['a']);
    expect(plan.step(60, { workers: ws })).toEqual({ type: 'failed', reason: 'restart hook threw' });
    expect(() => plan.restarted(70)).toThrow(/phase failed/);
    // once finished, fail() changes nothing
    const ok = new RollingRestartPlan([], P, 0);
    ok.fail(1, 'late');
    expect(ok.phase).toBe('done');
    expect(ok.reason).toBeUndefined();
  });

  it('names the offending field of invalid parameters', () => {
    expect(() => new RollingRestartPlan(['a'], { ...P, minHealthyWorkers: -1 }, 0)).toThrow(/rollingRestart\.minHealthyWorkers/);
    expect(() => new RollingRestartPlan(['a'], { ...P, drainTimeoutMs: Number.NaN }, 0)).toThrow(/rollingRestart\.drainTimeoutMs/);
    expect(() => new RollingRestartPlan(['a', 'a'], P, 0)).toThrow(/repeat/);
  });
});
