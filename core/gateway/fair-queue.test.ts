import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

function drain(q: FairQueue<string>): string[] {
  const out: string[] = [];
  while (q.size > 0) out.push(q.shift()!);
  return out;
}

describe('FairQueue (start-time fair queueing between tenants)', () => {
  it('is a FIFO with one flow', () => {
    const q = new FairQueue<string>();
    for (const x of ['a', 'b', 'c', 'd']) q.push(x, '', 1);
    expect(q.peek()).toBe('a');
    expect(drain(q)).toEqual(['a', 'b', 'c', 'd']);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it("a request of a quiet tenant goes ahead of another tenant's burst", () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 10; i++) q.push(`burst${i}`, 'A', 1);
    q.shift(); // burst0 served
    q.push('quiet', 'B', 1);
    expect(drain(q).indexOf('quiet')).toBeLessThanOrEqual(1);
  });

  it('backlogged tenants share dispatches by weight', () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 40; i++) {
      q.push('A', 'A', 3);
      q.push('B', 'B', 1);
    }
    const first20 = drain(q).slice(0, 20);
    expect(first20.filter((x) => x === 'A').length).toBe(15);
  });

  it('an idle tenant earns no credit: after a pause it shares, it does not monopolise', () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 5; i++) q.push('A', 'A', 1);
    drain(q);
    for (let i = 0; i < 6; i++) q.push('B', 'B', 1);
    for (let i = 0; i < 6; i++) q.push('A', 'A', 1);
    // B was idle, A was just served: B starts at V, A one request later; then they alternate
    expect(drain(q).slice(0, 6).join('')).toBe('BBABAB');
  });

  it('is deterministic: equal tags go in push order', () => {
    const run = () => {
      const q = new FairQueue<string>();
      for (let i = 0; i < 5; i++) for (const t of ['x', 'y', 'z']) q.push(`${t}${i}`, t, 1);
      return drain(q);
    };
    expect(run()).toEqual(run());
    expect(run().slice(0, 3)).toEqual(['x0', 'y0', 'z0']);
  });
});
