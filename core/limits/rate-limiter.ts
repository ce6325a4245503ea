// Per-API-key rate limits: requests per minute and tokens per minute, each a token bucket whose burst
// is one minute's allowance. Prompt tokens are checked up front; completion tokens are charged when
// known (the bucket may go into debt, delaying the key's next request). Keys are held in a bounded LRU:
// an evicted key starts again with a full bucket, which errs on the side of serving.
import { Lru } from '../caching/lru.js';
import { TokenBucket } from './token-bucket.js';

export interface RateLimitParams {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly keysMax: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly limit: 'requests' | 'tokens' };

interface KeyBuckets {
  readonly requests: TokenBucket;
  readonly tokens: TokenBucket;
}

const MINUTE_MS = 60_000;

export class RateLimiter {
  private readonly keys: Lru<string, KeyBuckets>;
  constructor(private readonly params: RateLimitParams) {
    this.keys = new Lru(params.keysMax);
  }

  check(apiKey: string, promptTokens: number, nowMs: number): RateDecision {
    const b = this.bucketsFor(apiKey, nowMs);
    const tokenWait = b.tokens.waitMs(promptTokens, nowMs);
    if (tokenWait > 0) return { ok: false, retryAfterMs: finiteOr(tokenWait, MINUTE_MS), limit: 'tokens' };
    if (!b.requests.tryTake(1, nowMs)) {
      return { ok: false, retryAfterMs: finiteOr(b.requests.waitMs(1, nowMs), MINUTE_MS), limit: 'requests' };
    }
    b.tokens.charge(promptTokens, nowMs);
    return { ok: true };
  }

  /** Charges tokens learned after the fact (completion tokens). */
  charge(apiKey: string, tokens: number, nowMs: number): void {
    this.bucketsFor(apiKey, nowMs).tokens.charge(tokens, nowMs);
  }

  private bucketsFor(apiKey: string, nowMs: number): KeyBuckets {
    let b = this.keys.peek(apiKey);
    if (b === undefined) {
      const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.params;
      b = { requests: new TokenBucket(rpm, rpm / MINUTE_MS, nowMs), tokens: new TokenBucket(tpm, tpm / MINUTE_MS, nowMs) };
    }
    this.keys.set(apiKey, b);
    return b;
  }
}

function finiteOr(ms: number, fallback: number): number {
  return Number.isFinite(ms) ? ms : fallback;
}
