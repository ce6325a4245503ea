// `npm run scenario`: the main command. Runs scenarios (baseline and candidate side by side, same seed
// and workload), prints the comparison table, writes a report, and exits non-zero when a target is
// missed. See README.md ("Scenarios") for the options.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderConsoleTable, writeReport } from '../reports/index.js';
import { SCENARIOS, findScenario } from './catalog/index.js';
import type { ScenarioDef } from './define.js';
import { ProgressBar } from './progress.js';
import type { ScenarioResult } from '../reports/result.js';
import { runCount, runScenarioSim } from './run.js';
import { runLiveMode } from './live/live-mode.js';
import { MODEL_CHOICES, parseMaxSequencesOverride, parseModelOverride, parseProfileChoice } from './live/profile.js';
import { PYTHON_ENV_VAR } from '../live/shared/python.js';
import { LIVE_GPUS_ENV, resolveLiveGpus } from './live/gpu-pinning.js';

const HELP = `usage: npm run scenario -- [name ...] [options]

Runs scenarios and compares a candidate policy set with its baseline in the same run.
With no name, runs the default suite.

options:
  --list            list the scenarios and exit
  --all             run every scenario (the default suite plus the slow capacity ones)
  --seed N          override every scenario's seed
  --mode M          where to run: sim (default), live (real processes: the baseline mlx_lm.server and
                    the mlx-serving cluster, one after the other, on this machine's scaled workload)
                    or both (sim with the calibrated local profile beside live, and the sim error)
  --port-base P     live: gateway on port P, mlx_lm.server on P+1 (default: free ports)
  --model-dir DIR   live: serve this model directory instead of building the scenario's model
  --profile FILE    both: the local profile (default reports/out/calibration/local-<size>.json)
  --repeat N        live: run each side N times per scenario (alternating which goes first) and
                    report the median of each figure with its min/max (default 1)
  --first SIDE      live: baseline (default) or candidate runs first in the first repetition
  --live-profile P  live: which live section, auto (default: gpu when the runtime's MLX device is a
                    CUDA GPU), cpu (the small-machine section) or gpu (full-size workload, gpu-1b)
  --live-model M    live: serve this model size instead of the section's (${MODEL_CHOICES})
  --live-max-sequences N
                    live: the candidate's sequences per worker instead of the section's (1–1024; the
                    baseline keeps mlx_lm.server's --decode-concurrency 32)
  --live-gpus G     live: pin worker node i to GPU i mod G (CUDA_VISIBLE_DEVICES in its environment and
                    its python runtime's; 1–16; default ${LIVE_GPUS_ENV} when set, else not pinned)
  --python PATH     the python interpreter for the runtime, mlx_lm.server and the model builder
                    (sets ${PYTHON_ENV_VAR}; default python/.venv/bin/python)
  --out DIR         where to write the report (default reports/out/<mode>)
  --json            print the results as JSON on stdout instead of tables
  --help            this text

With no name, live and both run the default-suite scenarios that have a live section.

exit status: 0 when every target is met, 1 when one is missed, 2 on bad usage or bad input (unknown
scenario, port in use, missing model), 3 when a live process failed (a server that does not start or
dies mid-run), 130 on Ctrl-C. Live runs stop every process they started in all cases.`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'boolean' }, all: { type: 'boolean' }, seed: { type: 'string' }, mode: { type: 'string', default: 'sim' },
        out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        'port-base': { type: 'string' }, 'model-dir': { type: 'string' }, profile: { type: 'string' },
        repeat: { type: 'string' }, first: { type: 'string' }, 'live-profile': { type: 'string', default: 'auto' }, 'live-model': { type: 'string' }, 'live-max-sequences': { type: 'string' }, 'live-gpus': { type: 'string' }, python: { type: 'string' },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const o = args.values;
  if (o.help === true) {
    console.log(HELP);
    return 0;
  }
  if (o.list === true) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(26)} ${s.inDefaultSuite ? 'default' : '       '}  ${s.title}`);
    return 0;
  }
  if (o.mode !== 'sim' && o.mode !== 'live' && o.mode !== 'both') {
    console.error(`--mode must be sim, live or both, got ${o.mode}`);
    return 2;
  }
  let seed: number | undefined;
  if (o.seed !== undefined) {
    seed = Number(o.seed);
    if (!Number.isInteger(seed) || seed < 0) {
      console.error(`--seed must be a non-negative integer, got ${o.seed}`);
      return 2;
    }
  }
  const chosen: ScenarioDef[] = [];
  for (const name of args.positionals) {
    const def = findScenario(name);
    if (def === undefined) {
      console.error(`unknown scenario "${name}". Available:\n${SCENARIOS.map((s) => `  ${s.name}`).join('\n')}`);
      return 2;
    }
    chosen.push(def);
  }
  const live = o.mode !== 'sim';
  if (chosen.length === 0) chosen.push(...SCENARIOS.filter((s) => (o.all === true || s.inDefaultSuite) && (!live || s.live !== undefined)));
  const simOnly = live ? chosen.filter((d) => d.live === undefined) : [];
  if (simOnly.length > 0) {
    console.error(`--mode ${o.mode}: ${simOnly.map((d) => d.name).join(', ')} ha${simOnly.length > 1 ? 've' : 's'} no live section (sim only). Live scenarios: ${SCENARIOS.filter((d) => d.live !== undefined).map((d) => d.name).join(', ')}`);
    return 2;
  }
  let portBase: number | undefined;
  if (o['port-base'] !== undefined) {
    portBase = Number(o['port-base']);
    if (!Number.isInteger(portBase) || portBase < 1 || portBase > 65_534) {
      console.error(`--port-base must be an integer in [1, 65534], got ${o['port-base']}`);
      return 2;
    }
  }
  const repeat = o.repeat === undefined ? undefined : Number(o.repeat);
  if (repeat !== undefined && !(Number.isInteger(repeat) && repeat >= 1 && repeat <= 100)) {
    console.error(`--repeat must be an integer in [1, 100], got ${o.repeat}`);
    return 2;
  }
  if (o.first !== undefined && o.first !== 'baseline' && o.first !== 'candidate') {
    console.error(`--first must be baseline or candidate, got ${o.first}`);
    return 2;
  }
  const first = o.first as 'baseline' | 'candidate' | undefined;
  const liveProfile = parseProfileChoice(o['live-profile']);
  if (liveProfile === undefined) {
    console.error(`--live-profile must be auto, cpu or gpu, got ${o['live-profile']}`);
    return 2;
  }
  const liveModel = o['live-model'] === undefined ? undefined : parseModelOverride(o['live-model']);
  if (o['live-model'] !== undefined && liveModel === undefined) {
    console.error(`--live-model must be one of ${MODEL_CHOICES}, got ${o['live-model']}`);
    return 2;
  }
  const liveMaxSequences = o['live-max-sequences'] === undefined ? undefined : parseMaxSequencesOverride(o['live-max-sequences']);
  if (o['live-max-sequences'] !== undefined && liveMaxSequences === undefined) {
    console.error(`--live-max-sequences must be an integer in [1, 1024], got ${o['live-max-sequences']}`);
    return 2;
  }
  let liveGpus: number | undefined;
  try {
    // The environment variable matters to live runs only; a malformed --live-gpus is refused in any mode.
    if (live || o['live-gpus'] !== undefined) liveGpus = resolveLiveGpus(o['live-gpus']);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (o.python !== undefined) process.env[PYTHON_ENV_VAR] = o.python;
  if (live) {
    const outcome = await runLiveMode(chosen, {
      mode: o.mode as 'live' | 'both', liveProfile, ...(liveModel !== undefined && { liveModel }), ...(liveMaxSequences !== undefined && { liveMaxSequences }), ...(liveGpus !== undefined && { liveGpus }), ...(repeat !== undefined && { repeat }), ...(first !== undefined && { first }),
      ...(seed !== undefined && { seed }), ...(portBase !== undefined && { portBase }), ...(o['model-dir'] !== undefined && { modelDir: o['model-dir'] }), ...(o.profile !== undefined && { profile: o.profile }),
    });
    if (typeof outcome === 'number') return outcome;
    return finish(outcome.results, argv, o, outcome.extraFiles);
  }

  const results: ScenarioResult[] = [];
  const bar = new ProgressBar(chosen.reduce((n, d) => n + runCount(d), 0), process.stderr);
  for (const def of chosen) {
    bar.label(def.name);
    results.push(await runScenarioSim(def, { ...(seed !== undefined && { seed }), onProgress: () => bar.tick() }));
  }
  bar.done();
  return finish(results, argv, o);
}

async function finish(results: ScenarioResult[], argv: string[], o: { out?: string | undefined; mode?: string | undefined; json?: boolean | undefined }, extraFiles: Record<string, string> = {}): Promise<number> {
  const outDir = o.out ?? `reports/out/${o.mode}`;
  const command = `npm run scenario -- ${argv.join(' ')}`.trim();
  const { files } = await writeReport(results, outDir, { command });
  for (const [name, content] of Object.entries(extraFiles)) {
    await writeFile(join(outDir, name), content, 'utf8');
    files.push(name);
  }
  if (o.json === true) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    for (const r of results) console.log(`\n${renderConsoleTable(r)}`);
  }
  // In both mode the live results gate; the sim ones (local profile) are there for comparison.
  const missed = results.filter((r) => !r.passed && (o.mode !== 'both' || r.mode === 'live'));
  console.error(`\nreport: ${outDir}/index.html (${files.length} files)`);
  if (missed.length === 0) {
    console.error(`all ${results.length} scenario(s) met their targets.`);
    return 0;
  }
  console.error(`${missed.length} of ${results.length} scenario(s) missed a target:`);
  for (const r of missed) {
    const why = r.rows.filter((row) => row.pass === false).map((row) => `${row.metric}: ${row.shortfall}`);
    if (r.capacity.some((c) => c.simulatedWorkers === null)) why.push('no cluster size up to the search limit meets the SLO');
    console.error(`  ${r.scenario} — ${why.join('; ')}`);
  }
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);
