// Per-tenant rate limits (issue 19): a tenant named in rateLimit.tenants has its own requests-per-minute
// and tokens-per-minute buckets, shared by all its credentials, checked on top of each credential's own
// limits. As the per-key limiter: prompt tokens up front, completion tokens charged when known (the
// bucket may go into debt). The tenants are the configured ones only (a bounded map).
import type { TenantRateLimit } from '../config/types.js';
import { TokenBucket } from './token-bucket.js';

const MINUTE_MS = 60_000;

interface Buckets {
  readonly requests: TokenBucket;
  readonly tokens: TokenBucket;
}

export type TenantWait = { readonly waitMs: 0 } | { readonly waitMs: number; readonly limit: 'requests' | 'tokens' };

export class TenantLimiter {
  private readonly buckets = new Map<string, Buckets>();

  constructor(private readonly limits: Readonly<Record<string, TenantRateLimit>>, nowMs = 0) {
    for (const [tenant, l] of Object.entries(limits)) {
      this.buckets.set(tenant, {
        requests: new TokenBucket(l.requestsPerMinute, l.requestsPerMinute / MINUTE_MS, nowMs),
        tokens: new TokenBucket(l.tokensPerMinute, l.tokensPerMinute / MINUTE_MS, nowMs),
      });
    }
  }

  /** How long `tenant` must wait before this request fits its limits (0: now); takes nothing. */
  waitMs(tenant: string | undefined, promptTokens: number, nowMs: number): TenantWait {
    const b = tenant === undefined ? undefined : this.buckets.get(tenant);
    if (b === undefined) return { waitMs: 0 };
    const tokens = b.tokens.waitMs(promptTokens, nowMs);
    if (tokens > 0) return { waitMs: finiteOr(tokens), limit: 'tokens' };
    const requests = b.requests.waitMs(1, nowMs);
    return requests > 0 ? { waitMs: finiteOr(requests), limit: 'requests' } : { waitMs: 0 };
  }

  /** Takes one request and its prompt tokens (after waitMs said 0). */
  take(tenant: string | undefined, promptTokens: number, nowMs: number): void {
    const b = tenant === undefined ? undefined : this.buckets.get(tenant);
    if (b === undefined) return;
    b.requests.charge(1, nowMs);
    b.tokens.charge(promptTokens, nowMs);
  }

  /** Charges tokens learned after the fact (completion tokens). */
  charge(tenant: string | undefined, tokens: number, nowMs: number): void {
    const b = tenant === undefined ? undefined : this.buckets.get(tenant);
    b?.tokens.charge(tokens, nowMs);
  }

  has(tenant: string | undefined): boolean {
    return tenant !== undefined && this.limits[tenant] !== undefined;
  }
}

function finiteOr(ms: number): number {
  return Number.isFinite(ms) ? ms : MINUTE_MS;
}
