// Workload generators: rates and burstiness, rate profiles, sessions sharing prefixes, duplicates over a
// Zipf hot set, length distributions, closed-loop feedback, trace replay, config validation.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ArrivalClock } from './arrivals.js';
import { deriveRng } from '../rng/rng.js';
import { sampleLength } from './lengths.js';
import { OpenLoopWorkload } from './open-loop.js';
import { ClosedLoopWorkload } from './closed-loop.js';
import { loadTrace, parseAzureCsv, parseMooncakeJsonl, TraceWorkload } from './traces.js';
import type { ClosedLoopConfig, OpenLoopConfig, SimRequest } from './types.js';

const base: OpenLoopConfig = {
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 50 }, arrival: { type: 'poisson' }, durationMs: 200_000,
  promptTokens: { type: 'fixed', tokens: 256 }, outputTokens: { type: 'fixed', tokens: 32 },
};
const drain = (w: { next(): SimRequest | undefined }): SimRequest[] => { const out: SimRequest[] = []; for (let r = w.next(); r; r = w.next()) out.push(r); return out; };
const gaps = (xs: SimRequest[]): number[] => xs.slice(1).map((r, i) => r.arrivalMs - xs[i]!.arrivalMs);
const cvOf = (xs: number[]): number => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) / m; };
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('open loop', () => {
  it('Poisson: rate and CV 1; deterministic per seed', () => {
    const reqs = drain(new OpenLoopWorkload(base, 1));
    expect(Math.abs(reqs.length / 10_000 - 1)).toBeLessThan(0.03);
    expect(Math.abs(cvOf(gaps(reqs)) - 1)).toBeLessThan(0.05);
    expect(drain(new OpenLoopWorkload(base, 1))).toEqual(reqs);
    expect(drain(new OpenLoopWorkload(base, 2)).map((r) => r.arrivalMs)).not.toEqual(reqs.map((r) => r.arrivalMs));
    const r0 = reqs[0]!.request;
    expect(r0.promptTokens).toBe(256);
    expect(r0.prefixBlocks.length).toBe(4);
    expect(r0.prompt).toEqual({ kind: 'text', text: expect.stringMatching(/^synthetic:/) });
  });

  it('gamma arrivals keep the rate and have the requested CV', () => {
    const reqs = drain(new OpenLoopWorkload({ ...base, arrival: { type: 'gamma', cv: 3 } }, 1));
    expect(Math.abs(reqs.length / 10_000 - 1)).toBeLessThan(0.1);
    expect(Math.abs(cvOf(gaps(reqs)) / 3 - 1)).toBeLessThan(0.1);
  });

  it('step and spike profiles change the rate where asked', () => {
    const step = drain(new OpenLoopWorkload({ ...base, rate: { type: 'step', steps: [{ atMs: 0, rps: 10 }, { atMs: 100_000, rps: 100 }] } }, 1));
    const before = step.filter((r) => r.arrivalMs < 100_000).length;
    expect(Math.abs(before / 1000 - 1)).toBeLessThan(0.1);
    expect(Math.abs((step.length - before) / 10_000 - 1)).toBeLessThan(0.05);
    const spike = drain(new OpenLoopWorkload({ ...base, rate: { type: 'spike', baseRps: 10, spikeRps: 200, startMs: 50_000, durationMs: 10_000 } }, 1));
    const inSpike = spike.filter((r) => r.arrivalMs >= 50_000 && r.arrivalMs < 60_000).length;
    expect(Math.abs(inSpike / 2000 - 1)).toBeLessThan(0.1);
    expect(Math.abs((spike.length - inSpike) / 1900 - 1)).toBeLessThan(0.1);
  });

  it('sessions: later turns extend the earlier turn\'s blocks (prompt + output)', () => {
    const w = new OpenLoopWorkload({ ...base, durationMs: 20_000, sharedPrefixTokens: 128, sessions: { continueProbability: 0.7, turnsPerSession: { type: 'fixed', tokens: 4 }, userTokens: { type: 'fixed', tokens: 100 }, maxActiveSessions: 50 } }, 3);
    const reqs = drain(w);
    const bySession = new Map<string, SimRequest[]>();
    for (const r of reqs) bySession.set(r.request.sessionId!, [...(bySession.get(r.request.sessionId!) ?? []), r]);
    const multi = [...bySession.values()].filter((t) => t.length >= 2);
    expect(multi.length).toBeGreaterThan(10);
    for (const turns of multi) {
      expect(turns.length).toBeLessThanOrEqual(4);
      for (let k = 1; k < turns.length; k++) {
        const prev = turns[k - 1]!;
        const cur = turns[k]!;
        expect(cur.request.promptTokens).toBe(prev.request.promptTokens + prev.outputTokens + 100);
        const prevFull = Math.floor((prev.request.promptTokens + prev.outputTokens) / 64);
        expect(cur.request.prefixBlocks.slice(0, Math.floor(prev.request.promptTokens / 64))).toEqual(prev.request.prefixBlocks);
        expect(cur.request.prefixBlocks.length).toBe(Math.floor(cur.request.promptTokens / 64));
        expect(prevFull).toBeLessThanOrEqual(cur.request.prefixBlocks.length);
      }
    }
    // Every request shares the 2 system-prompt blocks.
    const sys = reqs[0]!.request.prefixBlocks.slice(0, 2);
    for (const r of reqs) expect(r.request.prefixBlocks.slice(0, 2)).toEqual(sys);
  });

  it('duplicates: about `ratio` of requests repeat hot prompts exactly (temperature 0), Zipf-skewed', () => {
    const reqs = drain(new OpenLoopWorkload({ ...base, promptTokens: { type: 'uniform', minTokens: 100, maxTokens: 900 }, duplicates: { ratio: 0.3, hotSetSize: 20, zipfExponent: 1.1 } }, 5));
    const hot = reqs.filter((r) => r.request.prompt.kind === 'text' && r.request.prompt.text.startsWith('synthetic:hot'));
    expect(Math.abs(hot.length / reqs.length - 0.3)).toBeLessThan(0.02);
    const byText = new Map<string, SimRequest[]>();
    for (const r of hot) { const t = (r.request.prompt as { text: string }).text; byText.set(t, [...(byText.get(t) ?? []), r]); }
    expect(byText.size).toBeLessThanOrEqual(20);
    for (const group of byText.values()) {
      const a = group[0]!;
      for (const b of group) {
        expect(b.request.prefixBlocks).toEqual(a.request.prefixBlocks);
        expect(b.request.sampling).toEqual({ ...a.request.sampling, temperature: 0 });
        expect(b.outputTokens).toBe(a.outputTokens);
      }
    }
    const counts = [...byText.entries()].sort((x, y) => y[1].length - x[1].length);
    expect(counts[0]![0]).toMatch(/^synthetic:hot1:/);
  });

  it('rejects invalid config naming the field and reason', () => {
    expect(() => new OpenLoopWorkload({ ...base, rate: { type: 'constant', rps: -5 } }, 1)).toThrow(/rate.rps must be > 0, got -5/);
    expect(() => new OpenLoopWorkload({ ...base, durationMs: NaN }, 1)).toThrow(/durationMs must be a number/);
    expect(() => new OpenLoopWorkload({ ...base, arrival: { type: 'gamma', cv: 0 } }, 1)).toThrow(/arrival.cv must be > 0/);
    expect(() => new OpenLoopWorkload({ ...base, promptTokens: { type: 'uniform', minTokens: 10, maxTokens: 5 } }, 1)).toThrow(/promptTokens.maxTokens must be >= 10/);
    expect(() => new OpenLoopWorkload({ ...base, duplicates: { ratio: 1.5, hotSetSize: 10, zipfExponent: 1 } }, 1)).toThrow(/duplicates.ratio must be <= 1/);
    expect(() => new OpenLoopWorkload({ ...base, rate: { type: 'step', steps: [{ atMs: 5, rps: 1 }] } }, 1)).toThrow(/steps\[0\].atMs must be 0/);
    expect(() => new OpenLoopWorkload({ ...base, rate: { type: 'step', steps: [{ atMs: 0, rps: 1 }, { atMs: 0, rps: 2 }] } }, 1)).toThrow(/steps\[1\].atMs must be > 0/);
  });
});

describe('lengths and arrival clock', () => {
  it('lognormal lengths have the requested mean and are clipped', () => {
    const rng = deriveRng(1, 'len');
    const xs = Array.from({ length: 20_000 }, () => sampleLength({ type: 'lognormal', meanTokens: 500, cv: 1, minTokens: 1, maxTokens: 100_000 }, rng));
    expect(Math.abs(xs.reduce((a, b) => a + b, 0) / xs.length / 500 - 1)).toBeLessThan(0.05);
    const clipped = Array.from({ length: 2000 }, () => sampleLength({ type: 'lognormal', meanTokens: 500, cv: 2, minTokens: 100, maxTokens: 800 }, rng));
    expect(Math.min(...clipped)).toBe(100);
    expect(Math.max(...clipped)).toBe(800);
  });
  it('a profile that ends at rate 0 ends the arrivals', () => {
    const c = new ArrivalClock({ type: 'step', steps: [{ atMs: 0, rps: 1000 }, { atMs: 100, rps: 0 }] }, { type: 'poisson' }, deriveRng(1, 'a'));
    let n = 0;
    for (let t = c.next(); t !== Infinity; t = c.next()) { expect(t).toBeLessThan(100); n++; }
    expect(n).toBeGreaterThan(50);
  });
});

describe('closed loop', () => {
  const cfg: ClosedLoopConfig = {
    type: 'closed', model: 'm', users: 5, thinkTime: { type: 'fixed', ms: 1000 }, rampUpMs: 100, durationMs: 60_000,
    promptTokens: { type: 'fixed', tokens: 200 }, outputTokens: { type: 'fixed', tokens: 20 }, turnsPerSession: { type: 'fixed', tokens: 3 }, userTokens: { type: 'fixed', tokens: 50 },
  };
  it('each user has one request outstanding; the next comes think time after completion, as its next turn', () => {
    const w = new ClosedLoopWorkload(cfg, 1);
    const first = w.start(0);
    expect(first.length).toBe(5);
    expect(w.outstandingCount).toBe(5);
    for (let i = 1; i < first.length; i++) expect(first[i]!.arrivalMs).toBeGreaterThanOrEqual(first[i - 1]!.arrivalMs);
    const r0 = first[0]!;
    const next = w.onFinished(r0.request.id, 5000)!;
    expect(next.arrivalMs).toBe(6000);
    expect(next.request.sessionId).toBe(r0.request.sessionId);
    expect(next.request.promptTokens).toBe(200 + 20 + 50);
    expect(w.onFinished(r0.request.id, 5000)).toBeUndefined(); // already finished
    expect(w.outstandingCount).toBe(5);
    const third = w.onFinished(next.request.id, 7000)!;
    const fourth = w.onFinished(third.request.id, 9000)!;
    expect(fourth.request.sessionId).not.toBe(r0.request.sessionId); // 3 turns, then a new conversation
    expect(w.onFinished(fourth.request.id, 59_500)).toBeUndefined(); // past durationMs
  });
  it('rejects invalid config', () => {
    expect(() => new ClosedLoopWorkload({ ...cfg, users: 0 }, 1)).toThrow(/users must be >= 1/);
    expect(() => new ClosedLoopWorkload({ ...cfg, thinkTime: { type: 'exponential', meanMs: -1 } }, 1)).toThrow(/thinkTime.meanMs must be > 0/);
  });
});

describe('trace replay', () => {
  it('Azure 2023 CSV: arrival times relative to the first row; zero outputs raised to 1', () => {
    const recs = loadTrace(fixture('azure-conv-sample.csv'), 'azure-csv');
    expect(recs.length).toBe(6);
    expect(recs[0]).toEqual({ timestampMs: 0, promptTokens: 374, outputTokens: 44 });
    expect(recs[1]!.timestampMs).toBeCloseTo(4314.579, 3);
    expect(recs[2]!.timestampMs).toBe(recs[3]!.timestampMs);
    const reqs = drain(new TraceWorkload(recs, { model: 'm', timeScale: 0.5 }));
    expect(reqs[1]!.arrivalMs).toBeCloseTo(2157.2895, 3);
    expect(reqs[5]!.outputTokens).toBe(1);
    expect(reqs[4]!.request.prefixBlocks.length).toBe(Math.floor(1922 / 64));
  });
  it('Mooncake JSONL: hash ids become 8 blocks each; shared ids share prefixes', () => {
    const recs = loadTrace(fixture('mooncake-sample.jsonl'), 'mooncake-jsonl');
    const reqs = drain(new TraceWorkload(recs, { model: 'm' }));
    expect(reqs.map((r) => r.arrivalMs)).toEqual([0, 250, 250, 1200]);
    expect(reqs[0]!.request.prefixBlocks.length).toBe(24);
    expect(reqs[1]!.request.prefixBlocks.slice(0, 24)).toEqual(reqs[0]!.request.prefixBlocks);
    expect(reqs[2]!.request.prefixBlocks.length).toBe(10);
    expect(reqs[3]!.request.prefixBlocks.slice(0, 8)).toEqual(reqs[0]!.request.prefixBlocks.slice(0, 8));
    expect(reqs[3]!.request.prefixBlocks[8]).not.toBe(reqs[0]!.request.prefixBlocks[8]);
  });
  it('errors name the line and field', () => {
    expect(() => parseAzureCsv('TIME,a,b\n')).toThrow(/:1 header must be/);
    expect(() => parseAzureCsv('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-3,4\n')).toThrow(/:2 ContextTokens must be an integer >= 0/);
    expect(() => parseAzureCsv('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,3,4\n2023-11-16 18:15:45,3,4\n')).toThrow(/:3 timestamp goes back in time/);
    expect(() => parseMooncakeJsonl('{"timestamp": 0, "input_length": 5, "output_length": 1}')).toThrow(/:1 hash_ids must be an array/);
    expect(() => parseMooncakeJsonl('not json')).toThrow(/:1 \(line\) is not valid JSON/);
  });
});
