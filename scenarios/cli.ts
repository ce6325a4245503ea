// `npm run scenario`: the main command. Runs scenarios (baseline and candidate side by side, same seed
// and workload), prints the comparison table, writes a report, and exits non-zero when a target is
// missed. See README.md ("Scenarios") for the options.
import { parseArgs } from 'node:util';
import { renderConsoleTable, writeReport } from '../reports/index.js';
import { SCENARIOS, findScenario } from './catalog/index.js';
import type { ScenarioDef } from './define.js';
import { ProgressBar } from './progress.js';
import type { ScenarioResult } from './result.js';
import { runCount, runScenarioSim } from './run.js';

const HELP = `usage: npm run scenario -- [name ...] [options]

Runs scenarios and compares a candidate policy set with its baseline in the same run.
With no name, runs the default suite.

options:
  --list            list the scenarios and exit
  --all             run every scenario (the default suite plus the slow capacity ones)
  --seed N          override every scenario's seed
  --mode sim        where to run: sim (default). live and both come with the live runner (issue 7)
  --out DIR         where to write the report (default reports/out/<mode>)
  --json            print the results as JSON on stdout instead of tables
  --help            this text

exit status: 0 when every target is met, 1 when one is missed, 2 on bad usage.`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'boolean' }, all: { type: 'boolean' }, seed: { type: 'string' }, mode: { type: 'string', default: 'sim' },
        out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
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
  if (o.mode !== 'sim') {
    console.error(`--mode ${o.mode}: only sim mode exists so far; live runs against mlx_lm.server come with the live runner (issue 7).`);
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
  if (chosen.length === 0) chosen.push(...SCENARIOS.filter((s) => o.all === true || s.inDefaultSuite));

  const results: ScenarioResult[] = [];
  const bar = new ProgressBar(chosen.reduce((n, d) => n + runCount(d), 0), process.stderr);
  for (const def of chosen) {
    bar.label(def.name);
    results.push(runScenarioSim(def, { ...(seed !== undefined && { seed }), onProgress: () => bar.tick() }));
  }
  bar.done();

  const outDir = o.out ?? `reports/out/${o.mode}`;
  const command = `npm run scenario -- ${argv.join(' ')}`.trim();
  const { files } = await writeReport(results, outDir, { command });
  if (o.json === true) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    for (const r of results) console.log(`\n${renderConsoleTable(r)}`);
  }
  const missed = results.filter((r) => !r.passed);
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
