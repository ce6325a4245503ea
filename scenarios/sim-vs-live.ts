// The simulator's error against live results already run (results.json of `--mode live`, e.g. the
// committed GPU runs): each live scenario is simulated with a calibrated local profile on the same
// live section (model, users, lengths, sequences per worker) and compared row by row, as `--mode both`
// does, without running live again.
//
//   npx tsx scenarios/sim-vs-live.ts --profile PROFILE.json [--baseline-profile PROFILE.json] [--live-max-sequences N] [--out FILE.md] RUN_DIR_OR_RESULTS_JSON…
//
// --baseline-profile: the baseline side's own profile (`npm run calibrate -- --cudnn-attention mlx`, the
// runtime with cuDNN attention on as mlx_lm.server ships it); without it both sides use --profile.
//
// The runtime's loop settings come from the environment as in `--mode both` (MLX_RUNTIME_ADMIT_GROUP,
// MLX_RUNTIME_SCHEDULER; MLX_RUNTIME_CONTEXT_BUCKETS, else the live section's contextBuckets): set them
// as the live run had them.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ScenarioResult } from '../reports/result.js';
import { readResults, ResultsFileError } from '../reports/read-results.js';
import { findScenario } from './catalog/index.js';
import { loadProfileFor, renderErrorTable, runScenarioSimLocal, simVsLive, type ErrorRow } from './live/compare.js';
import { parseMaxSequencesOverride, withLiveSection } from './live/profile.js';
import { runtimeBuckets } from './live/runtime-env.js';
import { LiveRunError } from '../live/shared/processes.js';
import type { ModelSize } from '../live/shared/model.js';

function fail(message: string): never {
  throw new LiveRunError('input', message);
}

function liveResults(path: string): ScenarioResult[] {
  return readResults(path).filter((r) => r.mode === 'live');
}

function main(): number {
  const { values, positionals } = parseArgs({ options: { profile: { type: 'string' }, 'baseline-profile': { type: 'string' }, out: { type: 'string' }, 'live-max-sequences': { type: 'string' } }, allowPositionals: true });
  try {
    if (values.profile === undefined || positionals.length === 0) fail('usage: tsx scenarios/sim-vs-live.ts --profile PROFILE.json [--baseline-profile PROFILE.json] [--live-max-sequences N] [--out FILE.md] RUN…');
    const maxSequences = values['live-max-sequences'] === undefined ? undefined : parseMaxSequencesOverride(values['live-max-sequences']);
    if (values['live-max-sequences'] !== undefined && maxSequences === undefined) fail(`--live-max-sequences must be an integer in [1, 1024], got ${values['live-max-sequences']}`);
    const tables: { scenario: string; source: string; buckets: string; rows: ErrorRow[] }[] = [];
    for (const source of positionals) {
      const runs = liveResults(source);
      if (runs.length === 0) fail(`${source}: no live result`);
      for (const live of runs) {
        const given = findScenario(live.scenario) ?? fail(`${source}: unknown scenario ${live.scenario}`);
        const def = withLiveSection(given, live.live?.profile ?? 'cpu', {
          ...(live.live?.model !== undefined && { model: live.live.model as ModelSize }), ...(maxSequences !== undefined && { maxSequences }),
        });
        const baselineProfile = values['baseline-profile'] === undefined ? undefined : loadProfileFor(def, values['baseline-profile']);
        const sim = runScenarioSimLocal(def, loadProfileFor(def, values.profile), live.seed, baselineProfile);
        const b = runtimeBuckets(def);
        tables.push({ scenario: live.scenario, source, buckets: `MLX_RUNTIME_CONTEXT_BUCKETS=${b.value} (${b.source})`, rows: simVsLive(sim, live) });
      }
    }
    const env = [...new Set(tables.map((t) => t.buckets)), ...['MLX_RUNTIME_ADMIT_GROUP', 'MLX_RUNTIME_SCHEDULER'].map((k) => `${k}=${process.env[k] ?? ''}`)].join(' ');
    const md = [
      '# Sim (local profile) versus live results',
      '',
      `Profile \`${values.profile}\`${values['baseline-profile'] !== undefined ? `, baseline profile \`${values['baseline-profile']}\`` : ''}; runtime loop settings ${env}. error = (sim − live) ÷ live; the aim is within ±10 %.`,
      `Command: \`npx tsx scenarios/sim-vs-live.ts --profile ${values.profile}${values['baseline-profile'] !== undefined ? ` --baseline-profile ${values['baseline-profile']}` : ''}${maxSequences !== undefined ? ` --live-max-sequences ${maxSequences}` : ''} ${positionals.join(' ')}\``,
      '',
      ...tables.flatMap((t) => [`Live: \`${t.source}\``, '', renderErrorTable(t.scenario, t.rows), '']),
    ].join('\n');
    if (values.out !== undefined) writeFileSync(values.out, md);
    console.log(md);
    return 0;
  } catch (e) {
    if (e instanceof LiveRunError || e instanceof ResultsFileError) {
      console.error(`sim-vs-live: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main();
