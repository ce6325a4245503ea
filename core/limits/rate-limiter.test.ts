// Per-API-key rate limiting: requests and tokens per minute, each with retryAfterMs.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows requestsPerMinute requests per key at once, then refuses with retryAfterMs', () => {
    const rl = new RateLimiter({ requestsPerMinute: 3, tokensPerMinute: 1e9, keysMax: 100 });
    for (let i = 0; i < 3; i++) expect(rl.check('k', 1, 0)).toEqual({ ok: true });
    const d = rl.check('k', 1, 0);
    // One request comes back every 60 s / 3 = 20 s.
    expect(d).toEqual({ ok: false, retryAfterMs: 20_000, limit: 'requests' });
    expect(rl.check('k', 1, 19_999).ok).toBe(false);
    expect(rl.check('k', 1, 20_000).ok).toBe(true);
  });

  it('keeps separate buckets per API key', () => {
    const rl = new RateLimiter({ requestsPerMinute: 1, tokensPerMinute: 1e9, keysMax: 100 });
    expect(rl.check('alice', 1, 0).ok).toBe(true);
    expect(rl.check('alice', 1, 0).ok).toBe(false);
    expect(rl.check('bob', 1, 0).ok).toBe(true);
  });

  it('limits prompt tokens per minute and says how long to wait', () => {
    const rl = new RateLimiter({ requestsPerMinute: 1000, tokensPerMinute: 600, keysMax: 100 }); // 10 tokens/s
    expect(rl.check('k', 500, 0).ok).toBe(true);
    const d = rl.check('k', 200, 0); // 100 left, 100 missing → 10 s
    expect(d).toEqual({ ok: false, retryAfterMs: 10_000, limit: 'tokens' });
    expect(rl.check('k', 200, 10_000).ok).toBe(true);
  });

  it('a request refused for tokens takes no request slot', () => {
    const rl = new RateLimiter({ requestsPerMinute: 2, tokensPerMinute: 100, keysMax: 100 });
    expect(rl.check('k', 200, 0)).toMatchObject({ ok: false, limit: 'tokens' });
    expect(rl.check('k', 10, 0).ok).toBe(true);
    expect(rl.check('k', 10, 0).ok).toBe(true);
    expect(rl.check('k', 10, 0)).toMatchObject({ ok: false, limit: 'requests' });
  });

  it('a request refused for requests is not charged tokens', () => {
    const rl = new RateLimiter({ requestsPerMinute: 2, tokensPerMinute: 100, keysMax: 100 });
    expect(rl.check('k', 60, 0).ok).toBe(true);
    expect(rl.check('k', 30, 0).ok).toBe(true); // 10 tokens left, no request slot
    expect(rl.check('k', 10, 0)).toMatchObject({ ok: false, limit: 'requests' });
    // 30 s later: one request slot back and 10 + 50 = 60 tokens (50 had the refused one been charged).
    expect(rl.check('k', 60, 30_000).ok).toBe(true);
  });

  it('completion tokens charged after the fact delay the key’s next request', () => {
    const rl = new RateLimiter({ requestsPerMinute: 1000, tokensPerMinute: 600, keysMax: 100 });
    expect(rl.check('k', 100, 0).ok).toBe(true);
    rl.charge('k', 600, 0); // 500 - 600 = -100 tokens
    const d = rl.check('k', 10, 0);
    expect(d).toEqual({ ok: false, retryAfterMs: 11_000, limit: 'tokens' });
  });

  it('a prompt larger than a minute of tokens gets a finite retryAfterMs', () => {
    const rl = new RateLimiter({ requestsPerMinute: 10, tokensPerMinute: 100, keysMax: 100 });
    const d = rl.check('k', 1000, 0);
    expect(d).toMatchObject({ ok: false, limit: 'tokens' });
    if (!d.ok) expect(Number.isFinite(d.retryAfterMs)).toBe(true);
  });

  it('holds at most keysMax keys; an evicted key starts again with a full bucket', () => {
    const rl = new RateLimiter({ requestsPerMinute: 1, tokensPerMinute: 1e9, keysMax: 2 });
    expect(rl.check('a', 1, 0).ok).toBe(true);
    expect(rl.check('b', 1, 0).ok).toBe(true);
    expect(rl.check('a', 1, 0).ok).toBe(false); // a is still tracked (and now most recent)
    expect(rl.check('c', 1, 0).ok).toBe(true); // evicts b
    expect(rl.check('b', 1, 0).ok).toBe(true); // b forgotten: full again (evicts a)
    expect(rl.check('c', 1, 0).ok).toBe(false);
  });
});
