// A bounded least-recently-used map. A JS Map keeps insertion order, so "touch" is delete + set and
// the least recently used entry is the first key. Every operation is O(1); size never exceeds capacity.
import { invariant } from '../util/assert.js';

export interface LruStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly size: number;
  readonly capacity: number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    invariant(Number.isInteger(capacity) && capacity >= 1, `LRU capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Returns the value and marks it most recently used; counts a hit or a miss. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Looks without touching recency or stats. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) this.evictOldest();
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Removes and returns the least recently used entry. */
  evictOldest(): [K, V] | undefined {
    const first = this.map.entries().next();
    if (first.done === true) return undefined;
    const [key, value] = first.value;
    this.map.delete(key);
    this.evictions++;
    this.onEvict?.(key, value);
    return [key, value];
  }

  /** Oldest first. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  clear(): number {
    const n = this.map.size;
    this.map.clear();
    return n;
  }

  stats(): LruStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, size: this.map.size, capacity: this.capacity };
  }
}
