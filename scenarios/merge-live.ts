// Merges live results of one repetition each into one report (scenarios/live/merge.ts):
//
//   npx tsx scenarios/merge-live.ts --out DIR RUN_DIR_OR_RESULTS_JSON…
//
// Every input holds the same scenarios (results.json of `npm run scenario -- … --mode live --repeat 1`);
// each scenario is merged across the inputs, in the order given.
import { parseArgs } from 'node:util';
import { writeReport } from '../reports/index.js';
import { readResults, ResultsFileError } from '../reports/read-results.js';
import { findScenario } from './catalog/index.js';
import { MergeError, mergeLiveRuns } from './live/merge.js';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  if (values.out === undefined || positionals.length < 2) {
    console.error('usage: tsx scenarios/merge-live.ts --out DIR RUN… (two or more results.json or their folders)');
    return 2;
  }
  try {
    const inputs = positionals.map(readResults);
    const names = inputs[0]!.map((r) => r.scenario);
    const merged = names.map((name) => {
      const def = findScenario(name);
      if (def === undefined) throw new MergeError(`unknown scenario ${name}`);
      const runs = inputs.map((rs, i) => {
        const r = rs.find((x) => x.scenario === name);
        if (r === undefined) throw new MergeError(`${positionals[i]}: no result for ${name}`);
        return r;
      });
      return mergeLiveRuns(def, runs, positionals);
    });
    const command = `npx tsx scenarios/merge-live.ts --out ${values.out} ${positionals.join(' ')}`;
    await writeReport(merged, values.out, { command });
    for (const r of merged) {
      console.log(`${r.scenario}: ${r.live!.repetitions.count} repetitions merged; ${r.rows.filter((x) => x.target !== null).map((x) => `${x.metric} ${x.candidate} (${x.pass ? 'met' : 'missed'})`).join(', ')}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof MergeError || e instanceof ResultsFileError) {
      console.error(`merge-live: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main();
