// Validation of hardware and model profiles: every number finite, positive and sourced; efficiencies
// in (0, 1]; structural consistency (active <= total, experts per token <= experts). Errors name the
// profile, the field and the reason (ProfileError).
import { checkPositive, ProfileError, type HardwareProfile, type ModelProfile, type RuntimeCalibration } from './types.js';

function checkFraction(profile: string, field: string, v: { value: number; source: string }): void {
  checkPositive(profile, field, v);
  if (v.value > 1) throw new ProfileError(profile, field, `must be <= 1 (a fraction), got ${v.value}`);
}

export function validateRuntime(profile: string, r: RuntimeCalibration): void {
  const p = `${profile}.runtimes.${r.runtime}`;
  checkFraction(p, 'decodeEfficiency', r.decodeEfficiency);
  checkPositive(p, 'stepOverheadMs', r.stepOverheadMs, true);
  checkPositive(p, 'prefillFlopsPerSec', r.prefillFlopsPerSec);
  checkPositive(p, 'perSequenceStepMsPerBParams', r.perSequenceStepMsPerBParams, true);
  checkPositive(p, 'requestOverheadMs', r.requestOverheadMs, true);
}

export function validateHardware(h: HardwareProfile): HardwareProfile {
  checkPositive(h.id, 'memoryBytes', h.memoryBytes);
  checkPositive(h.id, 'bandwidthBytesPerSec', h.bandwidthBytesPerSec);
  checkPositive(h.id, 'gpuPeakFlopsPerSec', h.gpuPeakFlopsPerSec);
  checkFraction(h.id, 'usableMemoryFraction', h.usableMemoryFraction);
  checkPositive(h.id, 'loadBandwidthBytesPerSec', h.loadBandwidthBytesPerSec);
  for (const r of Object.values(h.runtimes)) if (r) validateRuntime(h.id, r);
  for (const r of Object.values(h.runtimes)) {
    if (r && r.prefillFlopsPerSec.value > h.gpuPeakFlopsPerSec.value) throw new ProfileError(h.id, `runtimes.${r.runtime}.prefillFlopsPerSec`, `exceeds the GPU peak ${h.gpuPeakFlopsPerSec.value.toExponential(3)} FLOP/s`);
  }
  return h;
}

export function validateModel(m: ModelProfile): ModelProfile {
  const total = checkPositive(m.id, 'totalParams', m.totalParams);
  const active = checkPositive(m.id, 'activeParams', m.activeParams);
  if (active > total) throw new ProfileError(m.id, 'activeParams', `must be <= totalParams (${total}), got ${active}`);
  checkPositive(m.id, 'embeddingParams', m.embeddingParams);
  for (const f of ['layers', 'attentionHeads', 'kvHeads', 'headDim', 'contextTokensMax'] as const) {
    const v = checkPositive(m.id, f, m[f]);
    if (!Number.isInteger(v)) throw new ProfileError(m.id, f, `must be an integer, got ${v}`);
  }
  if (m.kvHeads.value > m.attentionHeads.value) throw new ProfileError(m.id, 'kvHeads', `must be <= attentionHeads (${m.attentionHeads.value})`);
  if (m.moe) {
    const e = checkPositive(m.id, 'moe.experts', m.moe.experts);
    const k = checkPositive(m.id, 'moe.expertsPerToken', m.moe.expertsPerToken);
    if (k > e) throw new ProfileError(m.id, 'moe.expertsPerToken', `must be <= moe.experts (${e}), got ${k}`);
    const ep = checkPositive(m.id, 'moe.expertParams', m.moe.expertParams);
    if (ep >= total) throw new ProfileError(m.id, 'moe.expertParams', `must be < totalParams (${total}), got ${ep}`);
    checkPositive(m.id, 'moe.stepOverheadMs', m.moe.stepOverheadMs, true);
    checkFraction(m.id, 'moe.prefillEfficiency', m.moe.prefillEfficiency);
  }
  return m;
}
