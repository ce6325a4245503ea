// The candidate runtime's context buckets: the environment wins, then the live section, else one batch.
import { describe, expect, it } from 'vitest';
import { defineScenario } from '../define.js';
import { phase3HighConcurrency } from '../catalog/phases.js';
import { withLiveSection } from './profile.js';
import { runtimeBuckets, runtimeBucketsNote, runtimeEnv } from './runtime-env.js';

const gpu = withLiveSection(phase3HighConcurrency, 'gpu');
const cpu = withLiveSection(phase3HighConcurrency, 'cpu');

describe('runtime-env', () => {
  it('the gpu section asks for the measured buckets; the cpu one for none', () => {
    expect(runtimeBuckets(gpu, {})).toEqual({ value: '1024,4096', source: 'scenario' });
    expect(runtimeEnv(gpu, {})).toEqual({ MLX_RUNTIME_CONTEXT_BUCKETS: '1024,4096' });
    expect(runtimeBuckets(cpu, {})).toEqual({ value: '', source: 'default' });
    expect(runtimeEnv(cpu, {})).toEqual({});
    expect(runtimeBucketsNote(gpu, {})).toBe('Candidate runtime: context buckets 1024,4096 (the scenario\'s live section).');
  });

  it('the environment wins, set empty too (one batch), and is inherited rather than set again', () => {
    expect(runtimeBuckets(gpu, { MLX_RUNTIME_CONTEXT_BUCKETS: '2048' })).toEqual({ value: '2048', source: 'environment' });
    expect(runtimeBuckets(gpu, { MLX_RUNTIME_CONTEXT_BUCKETS: '' })).toEqual({ value: '', source: 'environment' });
    expect(runtimeEnv(gpu, { MLX_RUNTIME_CONTEXT_BUCKETS: '' })).toEqual({});
    expect(runtimeBucketsNote(gpu, { MLX_RUNTIME_CONTEXT_BUCKETS: '' })).toBe('Candidate runtime: one batch (no context buckets) (MLX_RUNTIME_CONTEXT_BUCKETS in the environment).');
  });

  it('a live section with buckets that are not increasing positive integers is refused by name', () => {
    const bad = { ...phase3HighConcurrency, live: { ...phase3HighConcurrency.live!, contextBuckets: [4096, 1024] } };
    expect(() => defineScenario(bad)).toThrow(/live\.contextBuckets.*increasing positive integers/);
  });
});
