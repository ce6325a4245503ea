// A workload share of structured-output requests (ContentConfig.constrained): drawn from its own
// stream, so every other draw (arrivals, lengths, sessions, duplicates) is the same with it or without;
// a duplicate keeps its hot prompt's choice; the ratio is validated.
import { describe, expect, it } from 'vitest';
import { OpenLoopWorkload } from './open-loop.js';
import { CONSTRAINED_RESPONSE_FORMAT } from './requests.js';
import type { OpenLoopConfig, SimRequest } from './types.js';

const base: OpenLoopConfig = {
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 50 }, arrival: { type: 'poisson' }, durationMs: 100_000,
  promptTokens: { type: 'lognormal', meanTokens: 400, cv: 1, minTokens: 16, maxTokens: 4096 }, outputTokens: { type: 'fixed', tokens: 32 },
  duplicates: { ratio: 0.2, hotSetSize: 20, zipfExponent: 1 },
  sessions: { continueProbability: 0.5, turnsPerSession: { type: 'fixed', tokens: 3 }, userTokens: { type: 'fixed', tokens: 50 }, maxActiveSessions: 30 },
};
const drain = (w: { next(): SimRequest | undefined }): SimRequest[] => { const out: SimRequest[] = []; for (let r = w.next(); r; r = w.next()) out.push(r); return out; };
const withoutFormat = (r: SimRequest) => {
  const { responseFormat: _, ...sampling } = r.request.sampling;
  return { ...r, request: { ...r.request, sampling } };
};

describe('constrained (structured-output) share of a workload', () => {
  it('marks about `ratio` of the requests with response_format and changes nothing else', () => {
    const plain = drain(new OpenLoopWorkload(base, 7));
    const mixed = drain(new OpenLoopWorkload({ ...base, constrained: { ratio: 0.3 } }, 7));
    expect(plain.every((r) => r.request.sampling.responseFormat === undefined)).toBe(true);
    expect(mixed.map(withoutFormat)).toEqual(plain);
    const share = mixed.filter((r) => r.request.sampling.responseFormat === CONSTRAINED_RESPONSE_FORMAT).length / mixed.length;
    expect(share).toBeGreaterThan(0.26);
    expect(share).toBeLessThan(0.34);
    expect(drain(new OpenLoopWorkload({ ...base, constrained: { ratio: 0 } }, 7))).toEqual(plain);
  });

  it('a duplicate asks for what its hot prompt asked for', () => {
    const mixed = drain(new OpenLoopWorkload({ ...base, constrained: { ratio: 0.5 } }, 3));
    const byText = new Map<string, Set<string | undefined>>();
    for (const r of mixed) {
      const t = (r.request.prompt as { text: string }).text;
      if (!t.includes(':hot')) continue;
      byText.set(t, (byText.get(t) ?? new Set()).add(r.request.sampling.responseFormat));
    }
    expect(byText.size).toBeGreaterThan(5);
    for (const formats of byText.values()) expect(formats.size).toBe(1);
    expect([...byText.values()].some((f) => f.has(CONSTRAINED_RESPONSE_FORMAT))).toBe(true);
  });

  it('refuses a ratio outside [0, 1]', () => {
    expect(() => new OpenLoopWorkload({ ...base, constrained: { ratio: 1.5 } }, 1)).toThrow(/constrained.ratio must be <= 1/);
  });
});
