// `npm run scenario -- … --mode live|both`: runs the chosen scenarios live (and, for `both`, in sim
// with the local profile first), handles Ctrl-C (abort → every process stopped → exit 130) and turns
// failures into a clear message and an exit status (2 bad input, 3 a live process failed).
import type { ScenarioDef } from '../define.js';
import type { ScenarioResult } from '../../reports/result.js';
import { loadProfileFor, renderErrorTable, runScenarioSimLocal, simVsLive, type ErrorRow } from './compare.js';
import { runScenarioLive } from './live-run.js';
import { chooseLiveProfile, withLiveSection, type LiveProfileChoice } from './profile.js';
import { LiveRunError } from '../../live/shared/processes.js';
import type { ModelSize } from '../../live/shared/model.js';
import { probeDevice, type DeviceProbe } from '../../live/shared/python.js';

export interface LiveModeOptions {
  readonly mode: 'live' | 'both';
  readonly seed?: number;
  readonly portBase?: number;
  readonly modelDir?: string;
  readonly profile?: string;
  /** Which live section: auto (default: gpu when MLX runs on a CUDA GPU), cpu or gpu. */
  readonly liveProfile?: LiveProfileChoice;
  /** Serve this model size instead of the section's. */
  readonly liveModel?: ModelSize;
  /** The candidate's sequences per worker instead of the section's (`--live-max-sequences`). */
  readonly liveMaxSequences?: number;
  /** Pin worker node i to GPU i mod liveGpus (`--live-gpus`, MLX_SERVING_LIVE_GPUS; gpu-pinning.ts). */
  readonly liveGpus?: number;
  /** Runs of each side per scenario (default 1). */
  readonly repeat?: number;
  /** The side that runs first in repetition 1. */
  readonly first?: 'baseline' | 'candidate';
}

export interface LiveModeOutcome {
  /** Live results (and, for `both`, each preceded by its sim result). */
  readonly results: ScenarioResult[];
  /** Extra report files (sim-vs-live.md / .json for `both`). */
  readonly extraFiles: Record<string, string>;
}

export async function runLiveMode(chosen: readonly ScenarioDef[], o: LiveModeOptions): Promise<LiveModeOutcome | number> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      console.error('\ninterrupted: stopping every live process (Ctrl-C again to exit at once)…');
      ac.abort();
    } else process.exit(130); // the ProcessSet exit hook SIGKILLs the process groups
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const results: ScenarioResult[] = [];
  const errors: { scenario: string; rows: ErrorRow[] }[] = [];
  try {
    const choice = o.liveProfile ?? 'auto';
    let probe: DeviceProbe | undefined;
    if (choice === 'auto') {
      try {
        probe = probeDevice();
      } catch (e) {
        throw new LiveRunError('fault', (e as Error).message, { cause: e });
      }
    }
    const chosenProfile = chooseLiveProfile(choice, probe);
    console.error(`live profile ${chosenProfile.profile} (${chosenProfile.reason})${o.liveModel !== undefined ? `, model ${o.liveModel}` : ''}${o.liveMaxSequences !== undefined ? `, ${o.liveMaxSequences} sequences per worker` : ''}${o.liveGpus !== undefined ? `, worker nodes pinned to ${o.liveGpus} GPU(s)` : ''}`);
    for (const given of chosen) {
      const def = withLiveSection(given, chosenProfile.profile, {
        ...(o.liveModel !== undefined && { model: o.liveModel }), ...(o.liveMaxSequences !== undefined && { maxSequences: o.liveMaxSequences }),
      });
      const log = (m: string) => console.error(`[${def.name}] ${m}`);
      let sim: ScenarioResult | undefined;
      if (o.mode === 'both') {
        const latency = loadProfileFor(def, o.profile);
        log(`sim with the local profile ${latency.id}`);
        sim = runScenarioSimLocal(def, latency, o.seed ?? def.seed);
      }
      const live = await runScenarioLive(def, {
        signal: ac.signal, log, profile: chosenProfile, ...(o.liveGpus !== undefined && { gpus: o.liveGpus }), ...(o.repeat !== undefined && { repeat: o.repeat }), ...(o.first !== undefined && { first: o.first }),
        ...(o.seed !== undefined && { seed: o.seed }), ...(o.portBase !== undefined && { portBase: o.portBase }), ...(o.modelDir !== undefined && { modelDir: o.modelDir }),
      });
      if (sim !== undefined) {
        const rows = simVsLive(sim, live);
        errors.push({ scenario: def.name, rows });
        console.error(`\n${renderErrorTable(def.name, rows)}`);
        results.push(sim);
      }
      results.push(live);
    }
  } catch (e) {
    if (e instanceof LiveRunError) {
      console.error(`\nlive run failed: ${e.message}`);
      return e.kind === 'input' ? 2 : e.kind === 'interrupted' ? 130 : 3;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const extraFiles: Record<string, string> = {};
  if (errors.length > 0) {
    extraFiles['sim-vs-live.json'] = `${JSON.stringify(errors, null, 2)}\n`;
    extraFiles['sim-vs-live.md'] = `# Sim (local profile) versus live\n\nerror = (sim − live) ÷ live; the aim is within ±10 %.\n\n${errors.map((x) => renderErrorTable(x.scenario, x.rows)).join('\n\n')}\n`;
  }
  return { results, extraFiles };
}
