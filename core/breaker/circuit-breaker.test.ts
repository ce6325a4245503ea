// The circuit breaker: what trips it (error rate over the window with a minimum volume, a timeout,
// consecutive health failures), cooldown to half-open, limited probes, and only legal transitions.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CircuitBreaker, type BreakerParams, type BreakerState } from './circuit-breaker.js';

// The architecture document's numbers: > 10 % errors over 30 s, timeout 10 s, 3 health failures, 60 s cooldown.
const P: BreakerParams = { timeoutMs: 10_000, errorRateMax: 0.1, errorWindowMs: 30_000, volumeMin: 10, healthFailuresMax: 3, cooldownMs: 60_000, halfOpenProbesMax: 2 };

function openedBreaker(atMs = 0): CircuitBreaker {
  const b = new CircuitBreaker(P);
  b.onTimeout(atMs);
  return b;
}

describe('CircuitBreaker: tripping', () => {
  it('starts closed and lets requests through', () => {
    const b = new CircuitBreaker(P);
    expect(b.state(0)).toBe('closed');
    expect(b.allows(0)).toBe(true);
    expect(b.halfOpensAtMs(0)).toBeUndefined();
  });

  it('opens when the error rate over the window exceeds errorRateMax', () => {
    const b = new CircuitBreaker(P);
    for (let i = 0; i < 9; i++) b.onSuccess(i * 100);
    b.onFailure(1000); // 1/10 = 10 %: not above 10 %
    expect(b.state(1000)).toBe('closed');
    b.onFailure(1100); // 2/11 ≈ 18 %
    expect(b.state(1100)).toBe('open');
    expect(b.allows(1100)).toBe(false);
  });

  it('needs volumeMin requests in the window before the rate counts', () => {
    const b = new CircuitBreaker(P);
    for (let i = 0; i < 9; i++) {
      b.onFailure(i * 10);
      expect(b.state(i * 10)).toBe('closed');
    }
    b.onFailure(100); // 10th request, 100 % errors
    expect(b.state(100)).toBe('open');
  });

  it('forgets outcomes older than the window', () => {
    const b = new CircuitBreaker(P);
    for (let i = 0; i < 9; i++) b.onFailure(i);
    // 30 s later the old failures are out of the window: this failure is 1 of 1 (below the volume).
    b.onFailure(30_500);
    expect(b.state(30_500)).toBe('closed');
    // Within the window they count: a fresh breaker with the 10th failure 29 s later opens.
    const c = new CircuitBreaker(P);
    for (let i = 0; i < 9; i++) c.onFailure(i);
    c.onFailure(29_000);
    expect(c.state(29_000)).toBe('open');
  });

  it('opens at once on a timeout', () => {
    const b = new CircuitBreaker(P);
    b.onSuccess(0);
    b.onTimeout(5);
    expect(b.state(5)).toBe('open');
    expect(b.transitions).toEqual([{ fromState: 'closed', toState: 'open', atMs: 5 }]);
  });

  it('opens after healthFailuresMax consecutive failed health checks; a good check resets the count', () => {
    const b = new CircuitBreaker(P);
    b.onHealthCheck(false, 0);
    b.onHealthCheck(false, 5000);
    b.onHealthCheck(true, 10_000);
    b.onHealthCheck(false, 15_000);
    b.onHealthCheck(false, 20_000);
    expect(b.state(20_000)).toBe('closed');
    b.onHealthCheck(false, 25_000);
    expect(b.state(25_000)).toBe('open');
  });
});

describe('CircuitBreaker: recovery', () => {
  it('stays open for cooldownMs, then turns half-open', () => {
    const b = openedBreaker(1000);
    expect(b.halfOpensAtMs(1000)).toBe(61_000);
    expect(b.state(60_999)).toBe('open');
    expect(b.allows(60_999)).toBe(false);
    expect(b.state(61_000)).toBe('half-open');
    expect(b.halfOpensAtMs(61_000)).toBeUndefined();
  });

  it('half-open allows at most halfOpenProbesMax probes in flight', () => {
    const b = openedBreaker(0);
    const t = P.cooldownMs;
    expect(b.allows(t)).toBe(true);
    b.onDispatch(t);
    expect(b.allows(t)).toBe(true);
    b.onDispatch(t);
    expect(b.allows(t)).toBe(false);
    // A finished probe frees its slot.
    b.onSuccess(t + 10);
    expect(b.state(t + 10)).toBe('half-open');
    expect(b.allows(t + 10)).toBe(true);
  });

  it('closes after halfOpenProbesMax probe successes', () => {
    const b = openedBreaker(0);
    const t = P.cooldownMs;
    b.onDispatch(t);
    b.onDispatch(t);
    b.onSuccess(t + 1);
    expect(b.state(t + 1)).toBe('half-open');
    b.onSuccess(t + 2);
    expect(b.state(t + 2)).toBe('closed');
    expect(b.allows(t + 2)).toBe(true);
    expect(b.transitions.map((x) => x.toState)).toEqual(['open', 'half-open', 'closed']);
  });

  it('a probe failure re-opens it for another full cooldown', () => {
    const b = openedBreaker(0);
    const t = P.cooldownMs;
    b.onDispatch(t);
    b.onFailure(t + 500);
    expect(b.state(t + 500)).toBe('open');
    expect(b.halfOpensAtMs(t + 500)).toBe(t + 500 + P.cooldownMs);
    expect(b.state(t + 500 + P.cooldownMs - 1)).toBe('open');
    expect(b.state(t + 500 + P.cooldownMs)).toBe('half-open');
  });

  it('a timeout while half-open re-opens it', () => {
    const b = openedBreaker(0);
    b.onDispatch(P.cooldownMs);
    b.onTimeout(P.cooldownMs + 1);
    expect(b.state(P.cooldownMs + 1)).toBe('open');
  });

  it('starts a clean window after opening: failures from before do not re-trip it once closed', () => {
    // A window longer than the cooldown, so the old failures would still be in it if kept.
    const b = new CircuitBreaker({ ...P, halfOpenProbesMax: 1, errorWindowMs: 120_000 });
    for (let i = 0; i < 10; i++) b.onFailure(i);
    expect(b.state(10)).toBe('open');
    const t = 10 + P.cooldownMs;
    b.onDispatch(t);
    b.onSuccess(t);
    expect(b.state(t)).toBe('closed');
    b.onFailure(t + 1); // 1 failure of 2 in the window: below the volume
    expect(b.state(t + 1)).toBe('closed');
  });
});

describe('CircuitBreaker: legal transitions under random events', () => {
  const LEGAL: Record<BreakerState, BreakerState[]> = { closed: ['open'], open: ['half-open'], 'half-open': ['closed', 'open'] };
  const event = fc.record({
    kind: fc.constantFrom('success', 'failure', 'timeout', 'health-ok', 'health-fail', 'dispatch', 'query'),
    gapMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 70_000 })),
  });

  it('only takes closed→open, open→half-open, half-open→closed|open, in a consistent chain', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.array(event, { maxLength: 120 }), (probes, volumeMin, events) => {
        const b = new CircuitBreaker({ ...P, halfOpenProbesMax: probes, volumeMin });
        let now = 0;
        let inFlightProbes = 0;
        for (const e of events) {
          now += e.gapMs;
          const before = b.state(now);
          if (before !== 'half-open') inFlightProbes = 0;
          switch (e.kind) {
            case 'success':
              if (before === 'half-open') inFlightProbes = Math.max(0, inFlightProbes - 1);
              b.onSuccess(now);
              break;
            case 'failure': b.onFailure(now); break;
            case 'timeout': b.onTimeout(now); break;
            case 'health-ok': b.onHealthCheck(true, now); break;
            case 'health-fail': b.onHealthCheck(false, now); break;
            case 'dispatch':
              if (b.allows(now)) {
                if (before === 'half-open') inFlightProbes++;
                b.onDispatch(now);
              }
              break;
            case 'query': break;
          }
          if (b.state(now) === 'half-open') expect(inFlightProbes).toBeLessThanOrEqual(probes);
          if (b.state(now) === 'open') expect(b.allows(now)).toBe(false);
        }
        const log = b.transitions;
        let prev: BreakerState = 'closed';
        for (const [k, t] of log.entries()) {
          if (k > 0 || log.length < 64) expect(t.fromState).toBe(prev);
          expect(LEGAL[t.fromState]).toContain(t.toState);
          if (k > 0) expect(t.atMs).toBeGreaterThanOrEqual(log[k - 1]!.atMs);
          prev = t.toState;
        }
        expect(b.state(now)).toBe(log.length > 0 ? log[log.length - 1]!.toState : 'closed');
        expect(log.length).toBeLessThanOrEqual(64);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
