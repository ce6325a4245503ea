// Tests of the event heap ordering (time, phase, seq), the loop's step bound and scheduling rules.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventHeap, type EventView } from './heap.js';
import { EventLoop, StepLimitExceededError, SchedulingError } from './loop.js';

const view = (): EventView => ({ timeMs: 0, phase: 0, seq: 0, kind: 0, target: 0, num: 0, payload: undefined });

describe('EventHeap', () => {
  it('orders ties by phase, then insertion order', () => {
    const h = new EventHeap(4);
    h.push(10, 3, 1, 0, 0, 'arrival-a');
    h.push(10, 0, 2, 0, 0, 'completion-a');
    h.push(5, 9, 3, 0, 0, 'early');
    h.push(10, 3, 1, 0, 0, 'arrival-b');
    h.push(10, 0, 2, 0, 0, 'completion-b');
    const out: unknown[] = [];
    const v = view();
    while (h.popInto(v)) out.push(v.payload);
    expect(out).toEqual(['early', 'completion-a', 'completion-b', 'arrival-a', 'arrival-b']);
  });

  it('pops in (time, phase, seq) order for any input (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }), (items) => {
      const h = new EventHeap(2);
      items.forEach(([t, p], i) => h.push(t, p, 0, i, 0, undefined));
      const expected = items.map(([t, p], i) => ({ t, p, i })).sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i).map((e) => e.i);
      const got: number[] = [];
      const v = view();
      while (h.popInto(v)) got.push(v.target);
      expect(got).toEqual(expected);
    }));
  });

  it('takeRootInto + push (the loop\'s path) pops in the same order as popInto (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 200 }), (plan) => {
      // Both heaps get the same pushes in the same order: each popped event schedules plan[k]'s follow-ups.
      const run = (fused: boolean): number[] => {
        const h = new EventHeap(2);
        h.push(0, 0, 0, 0, 0, undefined);
        const v = view();
        const got: number[] = [];
        let k = 0;
        while (fused ? h.takeRootInto(v) : h.popInto(v)) {
          got.push(v.timeMs * 1000 + v.seq);
          const [dt, phase, count] = plan[k++ % plan.length]!;
          if (k < 400) for (let j = 0; j < count; j++) h.push(v.timeMs + dt, phase, 0, 0, 0, undefined);
          if (fused) h.releaseRoot();
        }
        return got;
      };
      expect(run(true)).toEqual(run(false));
    }));
  });

  it('rejects bad times and phases and enforces its capacity bound', () => {
    const h = new EventHeap(16, 32);
    expect(() => h.push(NaN, 0, 0, 0, 0, undefined)).toThrow(/timeMs/);
    expect(() => h.push(-1, 0, 0, 0, 0, undefined)).toThrow(/timeMs/);
    expect(() => h.push(1, 256, 0, 0, 0, undefined)).toThrow(/phase/);
    expect(() => h.push(1, 1.5, 0, 0, 0, undefined)).toThrow(/phase/);
    for (let i = 0; i < 32; i++) h.push(i, 0, 0, 0, 0, undefined);
    expect(() => h.push(1, 0, 0, 0, 0, undefined)).toThrow(/bound/);
  });
});

describe('EventLoop', () => {
  it('runs handlers in order; follow-ups go through the scheduler; clock is virtual', () => {
    const loop = new EventLoop({ seed: 1, maxSteps: 100 });
    const log: string[] = [];
    loop.on(0, 1, 'arrival', (e, sim) => {
      log.push(`arrive ${e.target}@${sim.nowMs}`);
      sim.schedule(sim.nowMs + 5, 1, e.target);
    });
    loop.on(1, 0, 'done', (e, sim) => log.push(`done ${e.target}@${sim.nowMs}`));
    loop.schedule(0, 0, 1);
    loop.schedule(5, 0, 2); // same time as done(1): done runs first (phase 0 < 1)
    const r = loop.run();
    expect(log).toEqual(['arrive 1@0', 'done 1@5', 'arrive 2@5', 'done 2@10']);
    expect(r).toEqual({ steps: 4, endMs: 10, reason: 'empty' });
  });

  it('stops at untilMs and advances the clock to it', () => {
    const loop = new EventLoop({ seed: 1, maxSteps: 100 });
    loop.on(0, 0, 'tick', (_e, sim) => sim.schedule(sim.nowMs + 10, 0));
    loop.schedule(0, 0);
    const r = loop.run(35);
    expect(r.reason).toBe('until');
    expect(loop.nowMs).toBe(35);
    expect(r.steps).toBe(4);
  });

  it('throws a clear error naming the seed when the step bound is exceeded', () => {
    const loop = new EventLoop({ seed: 'seed-42', maxSteps: 10 });
    loop.on(0, 0, 'tick', (_e, sim) => sim.schedule(sim.nowMs + 1, 0));
    loop.schedule(0, 0);
    expect(() => loop.run()).toThrow(StepLimitExceededError);
    expect(() => loop.run()).toThrow(/maxSteps=10.*seed "seed-42"/);
  });

  it('refuses events in the past and unregistered kinds', () => {
    const loop = new EventLoop({ seed: 7, maxSteps: 10 });
    loop.on(0, 0, 'tick', (_e, sim) => sim.schedule(sim.nowMs - 1, 0));
    loop.schedule(3, 0);
    expect(() => loop.run()).toThrow(SchedulingError);
    expect(() => loop.schedule(10, 5)).toThrow(/not registered/);
    expect(() => loop.on(0, 0, 'dup', () => undefined)).toThrow(/already registered/);
  });

  it('stop() ends the run after the current event', () => {
    const loop = new EventLoop({ seed: 1, maxSteps: 100 });
    loop.on(0, 0, 'tick', (e, sim) => { if (e.num === 2) sim.stop(); sim.schedule(sim.nowMs + 1, 0, 0, e.num + 1); });
    loop.schedule(0, 0, 0, 0);
    expect(loop.run().reason).toBe('stopped');
    expect(loop.nowMs).toBe(2);
  });
});
