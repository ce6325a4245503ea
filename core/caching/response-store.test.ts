// The response store: TTL expiry (the dedupe cache), LRU eviction by entries (the response cache),
// stats and flush.
import { describe, expect, it } from 'vitest';
import { ResponseStore, type CachedAnswer } from './response-store.js';

const answer = (text: string): CachedAnswer => ({ text, promptTokens: 3, completionTokens: 5, finishReason: 'stop' });

describe('ResponseStore', () => {
  it('returns what was stored, counting hits and misses', () => {
    const s = new ResponseStore({ entriesMax: 10, ttlMs: undefined });
    expect(s.get('fp1', 0)).toBeUndefined();
    s.set('fp1', answer('one'), 0);
    expect(s.get('fp1', 5)).toEqual(answer('one'));
    expect(s.stats()).toMatchObject({ hits: 1, misses: 1, size: 1, capacity: 10, expirations: 0 });
  });

  it('expires entries ttlMs after they were stored (dedupe window)', () => {
    const s = new ResponseStore({ entriesMax: 10, ttlMs: 1000 });
    s.set('fp', answer('x'), 100);
    expect(s.get('fp', 1099)?.text).toBe('x');
    expect(s.get('fp', 1100)).toBeUndefined();
    expect(s.stats()).toMatchObject({ hits: 1, misses: 1, expirations: 1, size: 0 });
    // Gone for good once expired.
    expect(s.get('fp', 100)).toBeUndefined();
  });

  it('storing again restarts the TTL', () => {
    const s = new ResponseStore({ entriesMax: 10, ttlMs: 1000 });
    s.set('fp', answer('old'), 0);
    s.set('fp', answer('new'), 900);
    expect(s.get('fp', 1500)?.text).toBe('new');
  });

  it('without a TTL entries never expire', () => {
    const s = new ResponseStore({ entriesMax: 10, ttlMs: undefined });
    s.set('fp', answer('x'), 0);
    expect(s.get('fp', 1e12)?.text).toBe('x');
  });

  it('evicts the least recently used entry beyond entriesMax', () => {
    const s = new ResponseStore({ entriesMax: 2, ttlMs: undefined });
    s.set('a', answer('a'), 0);
    s.set('b', answer('b'), 1);
    s.get('a', 2); // a is now more recent than b
    s.set('c', answer('c'), 3);
    expect(s.get('b', 4)).toBeUndefined();
    expect(s.get('a', 4)?.text).toBe('a');
    expect(s.get('c', 4)?.text).toBe('c');
    expect(s.stats()).toMatchObject({ evictions: 1, size: 2 });
  });

  it('flush empties the store and reports how many entries it dropped', () => {
    const s = new ResponseStore({ entriesMax: 10, ttlMs: undefined });
    for (const k of ['a', 'b', 'c']) s.set(k, answer(k), 0);
    expect(s.flush()).toBe(3);
    expect(s.stats().size).toBe(0);
    expect(s.get('a', 0)).toBeUndefined();
    expect(s.flush()).toBe(0);
  });
});
