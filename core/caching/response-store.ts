// A bounded store of finished answers keyed by fingerprint: LRU by entries, with an optional TTL.
// Used twice by the gateway core with different settings: the dedupe cache (TTL 1 s: catches
// retries and double-submits right after an answer) and the response cache (10,000 entries, LRU,
// long-lived). Hit/miss/eviction/expiry stats; flush empties it.
import type { TokenLogprob } from '../types.js';
import { Lru } from './lru.js';

export interface CachedAnswer {
  /** Output text (absent in simulation, where only token counts exist). */
  readonly text?: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly finishReason: 'stop' | 'length';
  /** The stop string that ended the output, when the worker said (live only). */
  readonly stopSequence?: string;
  /** Per output token, when the request asked for log-probabilities (live only). */
  readonly logprobs?: readonly TokenLogprob[];
}

export interface ResponseStoreParams {
  readonly entriesMax: number;
  /** Entries older than this are misses; undefined = no expiry. */
  readonly ttlMs: number | undefined;
}

export interface ResponseStoreStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly expirations: number;
  readonly size: number;
  readonly capacity: number;
}

export class ResponseStore {
  private readonly lru: Lru<string, { answer: CachedAnswer; storedAtMs: number }>;
  private hits = 0;
  private misses = 0;
  private expirations = 0;

  constructor(private readonly p: ResponseStoreParams) {
    this.lru = new Lru(p.entriesMax);
  }

  get(fp: string, nowMs: number): CachedAnswer | undefined {
    const e = this.lru.get(fp);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (this.p.ttlMs !== undefined && nowMs - e.storedAtMs >= this.p.ttlMs) {
      this.lru.delete(fp);
      this.expirations++;
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.answer;
  }

  set(fp: string, answer: CachedAnswer, nowMs: number): void {
    this.lru.set(fp, { answer, storedAtMs: nowMs });
  }

  flush(): number {
    return this.lru.clear();
  }

  stats(): ResponseStoreStats {
    const l = this.lru.stats();
    return { hits: this.hits, misses: this.misses, evictions: l.evictions, expirations: this.expirations, size: l.size, capacity: l.capacity };
  }
}
