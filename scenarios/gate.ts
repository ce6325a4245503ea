// `npm run gate`: the CI performance gate. Runs the default sim suite and compares it with the
// committed reference results (scenarios/reference/sim-suite.json):
//   - a target met in the reference and missed now fails the gate;
//   - a target never met (a known miss, reported as such in the reference and in README.md) fails the
//     gate only if it got worse than the reference by more than the tolerance;
//   - every numeric figure with a target is compared with the reference: worse by more than the
//     tolerance in the target's direction fails;
//   - a scenario absent from the reference must meet all its targets.
// `npm run gate -- --update` rewrites the reference after a deliberate change (review the diff).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SCENARIOS } from './catalog/index.js';
import type { ResultRow, ScenarioResult } from '../reports/result.js';
import { runScenarioSim } from './run.js';

const REFERENCE = 'scenarios/reference/sim-suite.json';
/** Relative change tolerated before a figure counts as a regression. */
const TOLERANCE = 0.02;

interface Finding {
  readonly scenario: string;
  readonly level: 'fail' | 'known' | 'ok';
  readonly text: string;
}

export function compare(now: readonly ScenarioResult[], reference: readonly ScenarioResult[]): Finding[] {
  const findings: Finding[] = [];
  for (const r of now) {
    const ref = reference.find((x) => x.scenario === r.scenario);
    for (const row of r.rows.filter((x) => x.target !== null)) {
      const refRow = ref?.rows.find((x) => x.metric === row.metric && x.target === row.target);
      findings.push(judgeRow(r.scenario, row, refRow));
    }
  }
  return findings;
}

function judgeRow(scenario: string, row: ResultRow, ref: ResultRow | undefined): Finding {
  const what = `${row.metric} (${row.target})`;
  if (ref === undefined) {
    return row.pass === true ? { scenario, level: 'ok', text: `${what}: met (no reference)` } : { scenario, level: 'fail', text: `${what}: missed and not in the reference — ${row.shortfall}` };
  }
  const value = row.ratio !== null && row.target?.includes('×') === true ? row.ratio : row.candidate;
  const refValue = ref.ratio !== null && ref.target?.includes('×') === true ? ref.ratio : ref.candidate;
  const higherIsBetter = row.target?.startsWith('≥') === true;
  const worse = higherIsBetter ? value < refValue * (1 - TOLERANCE) - 1e-9 : value > refValue * (1 + TOLERANCE) + 1e-9;
  const delta = `${fmt(refValue)} → ${fmt(value)}`;
  if (ref.pass === true && row.pass !== true) return { scenario, level: 'fail', text: `${what}: met in the reference, missed now (${delta}) — ${row.shortfall}` };
  if (worse) return { scenario, level: 'fail', text: `${what}: regressed beyond ${TOLERANCE * 100} % (${delta})` };
  if (row.pass !== true) return { scenario, level: 'known', text: `${what}: known miss, no worse than the reference (${delta}) — ${row.shortfall}` };
  return { scenario, level: 'ok', text: `${what}: met (${delta})` };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

async function main(argv: string[]): Promise<number> {
  const update = argv.includes('--update');
  const suite = SCENARIOS.filter((s) => s.inDefaultSuite);
  const results: ScenarioResult[] = [];
  for (const def of suite) {
    process.stderr.write(`gate: running ${def.name}\n`);
    results.push(await runScenarioSim(def));
  }
  if (update) {
    mkdirSync(dirname(REFERENCE), { recursive: true });
    writeFileSync(REFERENCE, `${JSON.stringify(results.map(stripCharts), null, 1)}\n`);
    console.log(`gate: wrote ${REFERENCE} (${results.length} scenarios)`);
    return 0;
  }
  if (!existsSync(REFERENCE)) {
    console.error(`gate: ${REFERENCE} is missing; run \`npm run gate -- --update\` and commit it`);
    return 1;
  }
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as ScenarioResult[];
  const findings = compare(results, reference);
  for (const f of findings) console.log(`${f.level === 'fail' ? '✗' : f.level === 'known' ? '~' : '✓'} ${f.scenario}: ${f.text}`);
  const failed = findings.filter((f) => f.level === 'fail').length;
  const known = findings.filter((f) => f.level === 'known').length;
  console.log(`gate: ${findings.length - failed - known} met, ${known} known misses (no worse than the reference), ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** The reference keeps the figures the gate compares, not the chart data. */
function stripCharts(r: ScenarioResult): ScenarioResult {
  const slim = (s: ScenarioResult['candidate']) => ({ ...s, cdf: { ttftMs: [], e2eMs: [], itlMs: [] }, timeline: [] });
  return { ...r, baseline: r.baseline === null ? null : slim(r.baseline), candidate: slim(r.candidate), curves: [] };
}

if (process.argv[1]?.endsWith('gate.ts') === true) process.exit(await main(process.argv.slice(2)));
