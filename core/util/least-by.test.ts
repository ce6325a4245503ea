import { describe, expect, it } from 'vitest';
import { leastBy } from './least-by.js';

describe('leastBy', () => {
  it('the lowest finite score; the earlier item on a tie, unless before() says otherwise', () => {
    const xs = [{ id: 'a', n: 2, t: 5 }, { id: 'b', n: 1, t: 9 }, { id: 'c', n: 1, t: 3 }];
    expect(leastBy(xs, (x) => x.n)?.id).toBe('b');
    expect(leastBy(xs, (x) => x.n, (p, q) => p.t < q.t)?.id).toBe('c');
    expect(leastBy([], (x: number) => x)).toBeUndefined();
    expect(leastBy([1, 2], () => Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
