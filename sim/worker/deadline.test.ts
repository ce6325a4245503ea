// A request's deadline on the simulated worker (core/worker/deadline.ts, as on the live node): refused
// at submit once passed; a waiting or running sequence ends with deadline_exceeded at the first step
// start at or after it, its KV released.
import { describe, expect, it } from 'vitest';
import { req, run } from './worker-harness.js';

describe('simulated worker deadlines', () => {
  it('refuses a request whose deadline has passed', () => {
    const r = run({}, [{ atMs: 100, input: req('a', 10, 10, { deadlineMs: 50 }) }]);
    expect(r.errors.get('a')).toEqual({ code: 'deadline_exceeded', atMs: 100 });
    expect(r.first.has('a')).toBe(false);
  });

  it('ends a waiting request at its deadline, before it is admitted', () => {
    const r = run({ maxSequences: 1 }, [
      { atMs: 0, input: req('long', 100, 400) },
      { atMs: 1, input: req('b', 10, 10, { deadlineMs: 500 }) },
    ]);
    const e = r.errors.get('b')!;
    expect(e.code).toBe('deadline_exceeded');
    expect(e.atMs).toBeGreaterThanOrEqual(500);
    expect(r.first.has('b')).toBe(false);
    expect(r.first.get('long')!.generated).toBe(400);
  });

  it('ends a running request at the first step boundary after its deadline, and frees its KV', () => {
    const r = run({}, [{ atMs: 0, input: req('a', 100, 1000, { deadlineMs: 2000 }) }, { atMs: 0, input: req('b', 100, 50) }]);
    const e = r.errors.get('a')!;
    expect(e.code).toBe('deadline_exceeded');
    expect(e.atMs).toBeGreaterThanOrEqual(2000);
    const steps = r.steps.filter((s) => s.startMs < 2000 && s.startMs + s.durationMs >= 2000);
    expect(e.atMs).toBeLessThanOrEqual(steps[0]!.startMs + steps[0]!.durationMs + 1e-9);
    expect(r.tokenTimesMs.get('a')!.length).toBeGreaterThan(1);
    expect(r.worker.view().kvUsedBytes).toBe(0);
    expect(r.errors.has('b')).toBe(false);
  });
});
