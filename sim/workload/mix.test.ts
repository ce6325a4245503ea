import { describe, expect, it } from 'vitest';
import { MixedWorkload, validateMix } from './mix.js';
import { OpenLoopWorkload } from './open-loop.js';
import type { MixConfig, OpenLoopConfig, SimRequest } from './types.js';

const part = (tenant: string, rps: number, durationMs = 60_000): OpenLoopConfig => ({
  type: 'open', model: 'm', tenant, rate: { type: 'constant', rps }, arrival: { type: 'poisson' }, durationMs,
  promptTokens: { type: 'fixed', tokens: 100 }, outputTokens: { type: 'fixed', tokens: 20 },
});
const mix: MixConfig = { type: 'mix', model: 'm', durationMs: 60_000, parts: [part('a', 2), part('b', 1, 30_000)] };

function all(w: { next(): SimRequest | undefined }): SimRequest[] {
  const out: SimRequest[] = [];
  for (let r = w.next(); r !== undefined; r = w.next()) out.push(r);
  return out;
}

describe('MixedWorkload', () => {
  it('merges its parts in arrival order, each request with its part tenant and a unique id', () => {
    const rs = all(new MixedWorkload(mix, 7));
    expect(rs.length).toBeGreaterThan(100);
    for (let i = 1; i < rs.length; i++) expect(rs[i]!.arrivalMs).toBeGreaterThanOrEqual(rs[i - 1]!.arrivalMs);
    expect(new Set(rs.map((r) => r.request.id)).size).toBe(rs.length);
    const b = rs.filter((r) => r.request.tenant === 'b');
    expect(b.length).toBeGreaterThan(10);
    expect(b.every((r) => r.arrivalMs < 30_000 && r.request.id.startsWith('m1r'))).toBe(true);
    expect(rs.filter((r) => r.request.tenant === 'a').length).toBeGreaterThan(b.length);
  });

  it('is deterministic, and a part draws the same requests as alone with its derived seed', () => {
    expect(all(new MixedWorkload(mix, 7))).toEqual(all(new MixedWorkload(mix, 7)));
    const alone = all(new OpenLoopWorkload(mix.parts[0]!, '7/workload/mix/0', 'm0r'));
    expect(all(new MixedWorkload(mix, 7)).filter((r) => r.request.tenant === 'a')).toEqual(alone);
  });

  it('refuses a part of another model, a wrong duration and a bad tenant, naming the field', () => {
    expect(() => validateMix({ ...mix, parts: [{ ...part('a', 1), model: 'x' }] })).toThrow(/parts\[0\]\.model/);
    expect(() => validateMix({ ...mix, durationMs: 10 })).toThrow(/durationMs/);
    expect(() => validateMix({ ...mix, parts: [part('a b', 1)] })).toThrow(/parts\[0\]\.tenant/);
    expect(() => validateMix({ ...mix, parts: [] })).toThrow(/parts/);
  });

  it('requests without a tenant carry none (other workloads are unchanged)', () => {
    const { tenant: _t, ...plain } = part('a', 1);
    expect(all(new OpenLoopWorkload(plain, 1)).every((r) => !('tenant' in r.request))).toBe(true);
  });
});
