import { describe, expect, it } from 'vitest';
import { overdue } from './progress.js';

describe('the no-progress watchdog rule', () => {
  it('a job is overdue timeoutMs after the later of its progress and its worker last being heard from', () => {
    const jobs = [{ id: 'a', lastProgressMs: 0 }, { id: 'b', lastProgressMs: 500 }, { id: 'c', lastProgressMs: 900 }];
    expect(overdue(jobs, 0, 1000, 1500)).toEqual({ timedOut: [jobs[0], jobs[1]], nextMs: 1900 });
    // the worker spoke at 800: every deadline moves to at least 1800
    expect(overdue(jobs, 800, 1000, 1500)).toEqual({ timedOut: undefined, nextMs: 1800 });
    expect(overdue([], 0, 1000, 1500)).toEqual({ timedOut: undefined, nextMs: Number.POSITIVE_INFINITY });
  });
});
