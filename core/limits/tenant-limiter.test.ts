import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from '../gateway/gateway-core.js';
import { makeRequest, makeStatus, testRng } from '../gateway/test-support.js';
import { TenantLimiter } from './tenant-limiter.js';

describe('TenantLimiter', () => {
  it("holds a named tenant's requests and tokens per minute; other tenants and none are unlimited", () => {
    const l = new TenantLimiter({ a: { requestsPerMinute: 2, tokensPerMinute: 1000 } }, 0);
    for (let i = 0; i < 2; i++) {
      expect(l.waitMs('a', 10, 0).waitMs).toBe(0);
      l.take('a', 10, 0);
    }
    expect(l.waitMs('a', 10, 0)).toEqual({ waitMs: 30_000, limit: 'requests' });
    expect(l.waitMs('a', 10, 30_000).waitMs).toBe(0);
    expect(l.waitMs('b', 10, 0).waitMs).toBe(0);
    expect(l.waitMs(undefined, 10, 0).waitMs).toBe(0);
    l.charge('a', 2000, 30_000); // completion tokens put the tenant in debt
    expect(l.waitMs('a', 10, 30_000)).toMatchObject({ limit: 'tokens' });
    expect(l.has('a') && !l.has('b') && !l.has(undefined)).toBe(true);
  });
});

describe('gateway core: tenant rate limits', () => {
  const core = () => {
    const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, rateLimit: { enabled: true, requestsPerMinute: 100, tenants: { a: { requestsPerMinute: 2, tokensPerMinute: 100_000 } } } }), testRng(1));
    c.onWorkerStatus(makeStatus('w1', { maxConcurrent: 64 }), 0);
    return c;
  };
  const refused = (cmds: ReturnType<GatewayCore['onRequestArrived']>) => cmds.find((x) => x.type === 'reject');

  it("the tenant's keys share its limit; another tenant's and a key without one are not held by it", () => {
    const c = core();
    expect(refused(c.onRequestArrived(makeRequest('1', { text: '1', apiKey: 'k1', tenant: 'a' }), 0))).toBeUndefined();
    expect(refused(c.onRequestArrived(makeRequest('2', { text: '2', apiKey: 'k2', tenant: 'a' }), 0))).toBeUndefined();
    expect(refused(c.onRequestArrived(makeRequest('3', { text: '3', apiKey: 'k3', tenant: 'a' }), 0))).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
    expect(refused(c.onRequestArrived(makeRequest('4', { text: '4', apiKey: 'k4', tenant: 'b' }), 0))).toBeUndefined();
    expect(refused(c.onRequestArrived(makeRequest('5', { text: '5', apiKey: 'k5' }), 0))).toBeUndefined();
  });

  it('validates the tenants section', () => {
    expect(() => resolveGatewayConfig({ rateLimit: { tenants: { a: { requestsPerMinute: 0, tokensPerMinute: 1 } } } })).toThrow(/rateLimit\.tenants\.a\.requestsPerMinute/);
    expect(() => resolveGatewayConfig({ rateLimit: { tenants: { a: { requestsPerMinute: 1 } as never } } })).toThrow(/tokensPerMinute/);
    expect(() => resolveGatewayConfig({ rateLimit: { tenants: { a: { requestsPerMinute: 1, tokensPerMinute: 1, burst: 3 } as never } } })).toThrow(/burst/);
  });
});
