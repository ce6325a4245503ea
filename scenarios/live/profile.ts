// Which live section a run uses. A scenario's `live` section is the `cpu` profile (sized for a small
// machine); its `live.gpu` section, when it has one, the `gpu` profile (sized for a datacentre GPU:
// the sim workload unscaled, gpu-1b). `--live-profile auto` (the default) asks the configured python
// which device MLX defaults to and picks `gpu` when it is a GPU behind CUDA (a Linux host with an
// NVIDIA GPU), `cpu` otherwise. On a Mac MLX's default device is also a GPU (Metal), but auto stays on
// `cpu` there: the gpu sections (128 users, full-length prompts, a 1 B bf16 model) were sized for an
// H200 and would run many times longer on a laptop; `--live-profile gpu` runs them on a large Mac.
import type { LiveSectionDef, ScenarioDef } from '../define.js';
import { isModelSize, MODEL_SIZES, type ModelSize } from '../../live/shared/model.js';
import type { DeviceProbe } from '../../live/shared/python.js';

export type LiveProfile = 'cpu' | 'gpu';
export type LiveProfileChoice = LiveProfile | 'auto';

export interface ChosenProfile {
  readonly profile: LiveProfile;
  /** Why, for the report: "asked" or what the device probe said. */
  readonly reason: string;
}

export function parseProfileChoice(s: string): LiveProfileChoice | undefined {
  return s === 'auto' || s === 'cpu' || s === 'gpu' ? s : undefined;
}

export function parseModelOverride(s: string): ModelSize | undefined {
  return isModelSize(s) ? s : undefined;
}
export const MODEL_CHOICES = MODEL_SIZES.join('|');

/** The profile for a run: the one asked for, or (auto) from the device the runtime's python reports. */
export function chooseLiveProfile(choice: LiveProfileChoice, probe: DeviceProbe | undefined): ChosenProfile {
  if (choice !== 'auto') return { profile: choice, reason: `--live-profile ${choice}` };
  if (probe === undefined) return { profile: 'cpu', reason: 'auto: no device probe' };
  const seen = `auto: MLX default device ${probe.device} (${probe.backend}, ${probe.platform})`;
  if (probe.kind === 'gpu' && probe.backend === 'cuda') return { profile: 'gpu', reason: seen };
  if (probe.kind === 'gpu') return { profile: 'cpu', reason: `${seen}; a Metal GPU stays on the cpu sections (--live-profile gpu to override)` };
  return { profile: 'cpu', reason: seen };
}

/** What the command line overrides in the chosen live section (`--live-model`, `--live-max-sequences`). */
export interface SectionOverrides {
  readonly model?: ModelSize;
  /** The candidate's sequences per worker (the worker node's and runtime's limit); the baseline keeps mlx_lm.server's defaults. */
  readonly maxSequences?: number;
}

/** The live section a run uses under `profile` (the gpu one when the scenario has it), with the overrides asked for. */
export function sectionFor(def: ScenarioDef, profile: LiveProfile, over: SectionOverrides = {}): LiveSectionDef {
  if (def.live === undefined) throw new Error(`scenario ${def.name} has no live section: it runs in sim only`);
  const { gpu, ...cpu } = def.live;
  const section = profile === 'gpu' && gpu !== undefined ? gpu : cpu;
  return {
    ...section,
    ...(over.model !== undefined && { model: over.model }),
    ...(over.maxSequences !== undefined && { maxSequences: over.maxSequences }),
  };
}

/** The scenario with its `live` replaced by the chosen section (what live-run, scale and compare read). */
export function withLiveSection(def: ScenarioDef, profile: LiveProfile, over: SectionOverrides = {}): ScenarioDef {
  const live = sectionFor(def, profile, over);
  const n = live.candidateWorkers;
  if (n === undefined || n === def.candidate.workers) return { ...def, live };
  const label = `(${n} worker${n === 1 ? '' : 's'})`;
  const name = /\(\d+ workers?\)/.test(def.candidate.name) ? def.candidate.name.replace(/\(\d+ workers?\)/, label) : `${def.candidate.name} ${label}`;
  return { ...def, live, candidate: { ...def.candidate, name, workers: n } };
}

/** `--live-max-sequences N`: an integer in [1, 1024], or undefined. */
export function parseMaxSequencesOverride(s: string): number | undefined {
  const n = Number(s);
  return /^[0-9]+$/.test(s) && n >= 1 && n <= 1024 ? n : undefined;
}
