// A scenario's workload scaled to this machine by its `live` section: the same shape (length
// distributions, duplicates, sessions, think time, arrival law), lengths × tokenScale, and the
// live users / rate / duration / request count. Sim in `--mode both` runs this same scaled workload.
import type { LiveDef, ScenarioDef } from '../define.js';
import type { ClosedLoopConfig, LengthDist, OpenLoopConfig } from '../../sim/workload/types.js';

function scaleLength(d: LengthDist, k: number): LengthDist {
  const t = (x: number) => Math.max(1, Math.round(x * k));
  switch (d.type) {
    case 'fixed':
      return { type: 'fixed', tokens: t(d.tokens) };
    case 'uniform':
      return { type: 'uniform', minTokens: t(d.minTokens), maxTokens: t(d.maxTokens) };
    case 'lognormal':
      return { ...d, meanTokens: t(d.meanTokens), minTokens: t(d.minTokens), maxTokens: t(d.maxTokens) };
  }
}

export function liveSection(def: ScenarioDef): LiveDef {
  if (def.live === undefined) throw new Error(`scenario ${def.name} has no live section: it runs in sim only`);
  return def.live;
}

/** The workload the live run drives (and `--mode both` simulates). */
export function liveWorkload(def: ScenarioDef): OpenLoopConfig | ClosedLoopConfig {
  const l = liveSection(def);
  const w = def.workload;
  if (w.type === 'mix') throw new Error(`scenario ${def.name}: a mix of open loops runs in sim only (the live load generator drives one loop)`);
  const k = l.tokenScale ?? 1;
  const content = {
    promptTokens: scaleLength(w.promptTokens, k),
    outputTokens: scaleLength(w.outputTokens, k),
    ...(w.sharedPrefixTokens !== undefined && { sharedPrefixTokens: Math.round(w.sharedPrefixTokens * k) }),
    ...(w.contextTokensMax !== undefined && { contextTokensMax: Math.max(1, Math.round(w.contextTokensMax * k)) }),
  };
  const requestsMax = l.requestsMax ?? w.requestsMax;
  if (w.type === 'closed') {
    return {
      ...w, ...content, userTokens: scaleLength(w.userTokens, k), users: l.users ?? w.users, durationMs: l.durationMs,
      rampUpMs: l.rampUpMs ?? w.rampUpMs, ...(requestsMax !== undefined && { requestsMax }),
    };
  }
  return {
    ...w, ...content, durationMs: l.durationMs, ...(l.rps !== undefined && { rate: { type: 'constant', rps: l.rps } }),
    ...(w.sessions !== undefined && { sessions: { ...w.sessions, userTokens: scaleLength(w.sessions.userTokens, k) } }),
    ...(requestsMax !== undefined && { requestsMax }),
  };
}

export function liveMaxSequences(def: ScenarioDef): number {
  return def.live?.maxSequences ?? def.cluster.maxSequences;
}
