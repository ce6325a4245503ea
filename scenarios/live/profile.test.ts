// The live section a run uses: the gpu section on a CUDA GPU (auto), the cpu one elsewhere (a Mac's
// Metal GPU included, unless asked), the model override, and the phase scenarios' GPU sections.
import { describe, expect, it } from 'vitest';
import { defineScenario, ScenarioError } from '../define.js';
import { phase1DuplicateHeavy, phase2Mixed, phase3HighConcurrency } from '../catalog/phases.js';
import { liveSmoke } from '../catalog/live.js';
import { describeDevice } from '../../live/shared/python.js';
import { chooseLiveProfile, parseMaxSequencesOverride, parseModelOverride, parseProfileChoice, sectionFor, withLiveSection } from './profile.js';
import { liveMaxSequences, liveWorkload } from './scale.js';

const probe = (device: string, o: { cuda?: boolean; metal?: boolean; platform: string }) =>
  describeDevice(device, { cuda: o.cuda ?? false, metal: o.metal ?? false, platform: o.platform, mlxVersion: '0.32.4' });

describe('live profile', () => {
  it('auto: gpu on CUDA, cpu on a CPU device and on a Mac (Metal)', () => {
    expect(chooseLiveProfile('auto', probe('Device(gpu, 0)', { cuda: true, platform: 'linux' })).profile).toBe('gpu');
    expect(chooseLiveProfile('auto', probe('Device(cpu, 0)', { platform: 'linux' })).profile).toBe('cpu');
    const mac = chooseLiveProfile('auto', probe('Device(gpu, 0)', { metal: true, platform: 'darwin' }));
    expect(mac.profile).toBe('cpu');
    expect(mac.reason).toMatch(/Metal.*--live-profile gpu/);
    expect(chooseLiveProfile('auto', undefined).profile).toBe('cpu');
    expect(chooseLiveProfile('gpu', probe('Device(cpu, 0)', { platform: 'linux' }))).toEqual({ profile: 'gpu', reason: '--live-profile gpu' });
    expect(chooseLiveProfile('cpu', undefined).profile).toBe('cpu');
  });

  it('parses the flags', () => {
    expect(parseProfileChoice('auto')).toBe('auto');
    expect(parseProfileChoice('metal')).toBeUndefined();
    expect(parseModelOverride('gpu-8b')).toBe('gpu-8b');
    expect(parseModelOverride('huge')).toBeUndefined();
  });

  it('the phase scenarios run the sim workload unscaled on gpu-1b in their gpu section', () => {
    for (const def of [phase1DuplicateHeavy, phase2Mixed, phase3HighConcurrency]) {
      const g = sectionFor(def, 'gpu');
      expect(g.model).toBe('gpu-1b');
      expect(g.tokenScale ?? 1).toBe(1);
      expect(def.workload.type === 'closed' && g.users).toBe(def.workload.type === 'closed' && def.workload.users);
      expect(g.durationMs).toBeLessThanOrEqual(60_000);
      const w = liveWorkload(withLiveSection(def, 'gpu'));
      expect(def.workload.type).not.toBe('mix');
      expect(w.promptTokens).toEqual((def.workload as typeof w).promptTokens);
      expect(w.outputTokens).toEqual((def.workload as typeof w).outputTokens);
      expect(sectionFor(def, 'cpu').model).toBe('small');
      expect(sectionFor(def, 'gpu', { model: 'gpu-8b' }).model).toBe('gpu-8b');
    }
    expect(sectionFor(phase3HighConcurrency, 'gpu').users).toBeGreaterThanOrEqual(100);
  });

  it('--live-max-sequences overrides the candidate\'s sequences per worker, and nothing else', () => {
    const d = withLiveSection(phase3HighConcurrency, 'gpu', { maxSequences: 48 });
    expect(liveMaxSequences(d)).toBe(48);
    // The gpu section's own cap (mlx_lm.server's 32, measured in the seventh GPU session); the cpu one the cluster's.
    expect(liveMaxSequences(withLiveSection(phase3HighConcurrency, 'gpu'))).toBe(32);
    expect(liveMaxSequences(withLiveSection(phase3HighConcurrency, 'cpu'))).toBe(phase3HighConcurrency.cluster.maxSequences);
    expect({ ...d.live, maxSequences: undefined }).toEqual({ ...sectionFor(phase3HighConcurrency, 'gpu'), maxSequences: undefined });
    expect(parseMaxSequencesOverride('48')).toBe(48);
    for (const bad of ['0', '-1', '2.5', '1025', 'x', '']) expect(parseMaxSequencesOverride(bad)).toBeUndefined();
  });

  it('a scenario without a gpu section runs its one section under either profile', () => {
    expect(sectionFor(liveSmoke, 'gpu')).toEqual(sectionFor(liveSmoke, 'cpu'));
    const d = withLiveSection(phase1DuplicateHeavy, 'cpu');
    expect(d.live).not.toHaveProperty('gpu');
    expect(liveWorkload(d)).toEqual(liveWorkload(phase1DuplicateHeavy));
  });

  it('checks the gpu section like the other', () => {
    const bad = { ...liveSmoke, live: { ...liveSmoke.live!, gpu: { model: 'gpu-2b' as 'gpu-1b', durationMs: 1000 } } };
    expect(() => defineScenario(bad)).toThrow(ScenarioError);
    expect(() => defineScenario(bad)).toThrow(/live\.gpu\.model/);
  });
});
