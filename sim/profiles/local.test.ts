// Local (calibrated) profile: format validation and the latency model built from it.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_PROFILE_FORMAT, parseLocalProfile } from './local.js';
import { loadLocalLatencyModel } from '../latency/local-latency.js';

const good = {
  format: LOCAL_PROFILE_FORMAT,
  source: 'calibrate on test-host, 2025-01-01, mlx-lm 0.26',
  hardware: { name: 'M3 Ultra', memoryBytes: 512 * 1024 ** 3, bandwidthBytesPerSec: 819e9 },
  model: { id: 'llama-3.1-8b-4bit', modelBytes: 4.5e9, kvBytesPerToken: 131072, contextTokensMax: 131072 },
  prefillTokensPerSec: 1175,
  decodeStepMs: { a: 8.0, bPerSequence: 0.4, cPerKiloContextToken: 0.05 },
  requestOverheadMs: 2,
};

describe('local profile', () => {
  it('loads from a file and drives the latency formulas', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-local-'));
    const path = join(dir, 'local.json');
    writeFileSync(path, JSON.stringify(good));
    const m = loadLocalLatencyModel(path);
    expect(m.decodeStepMs(4, 8000)).toBeCloseTo(8 + 1.6 + 0.4, 9);
    expect(m.prefillMs(1175, 0)).toBeCloseTo(1000, 9);
    expect(m.prefillMs(1175, 175)).toBeCloseTo((1000 / 1175) * 1000, 6);
    expect(m.coldStartMs()).toBeCloseTo(1125, 6);
    expect(m.kvCapacityBytes).toBeCloseTo(512 * 1024 ** 3 * 0.75 - 4.5e9, 0);
  });
  it('rejects bad fields with the field name and the reason', () => {
    expect(() => parseLocalProfile({ ...good, format: 'v0' })).toThrow(/format must be/);
    expect(() => parseLocalProfile({ ...good, prefillTokensPerSec: -1 })).toThrow(/prefillTokensPerSec must be > 0, got -1/);
    expect(() => parseLocalProfile({ ...good, prefillTokensPerSec: 'fast' })).toThrow(/prefillTokensPerSec must be a number/);
    expect(() => parseLocalProfile({ ...good, decodeStepMs: { ...good.decodeStepMs, a: NaN } })).toThrow(/decodeStepMs.a must be a number/);
    expect(() => parseLocalProfile({ ...good, model: { ...good.model, modelBytes: 600e9 } })).toThrow(/model.modelBytes does not fit in memory/);
    expect(() => parseLocalProfile({ ...good, decodeStepMs: { a: 1, bPerSequence: 0, cPerKiloContextToken: 0 } })).toThrow(/decodeStepMs batch-1 step .* faster than the roofline/);
    expect(() => parseLocalProfile({ ...good, source: '' })).toThrow(/source must be a non-empty string/);
    expect(() => parseLocalProfile({ ...good, sampledRowMs: -0.1 })).toThrow(/sampledRowMs must be >= 0/);
    expect(() => parseLocalProfile({ ...good, answerReuse: 1.5 })).toThrow(/answerReuse must be <= 1/);
    expect(parseLocalProfile({ ...good, answerReuse: 0.25 }).answerReuse).toBe(0.25);
  });
  it('carries the optional per-row sampling cost to the latency model (absent: none)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-local-'));
    const path = join(dir, 'local.json');
    writeFileSync(path, JSON.stringify({ ...good, sampledRowMs: 0.12 }));
    expect(loadLocalLatencyModel(path).sampledRowMs).toBe(0.12);
    expect(parseLocalProfile({ ...good, sampledRowMs: 0 }).sampledRowMs).toBe(0);
    expect(parseLocalProfile(good).sampledRowMs).toBeUndefined();
  });
});
