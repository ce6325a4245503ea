// npm run reliability [-- --out DIR] [--quick] [--soak SECONDS]
//
// Runs the fault scenarios of live/cli/reliability-scenarios.ts against real processes (echo worker
// nodes; a real worker node with python runtimes for the runtime kill) and writes
// reports/out/reliability/report.md and results.json: faults injected, requests sent, lost (retryable
// and still failed), failed with a clear error (a stream under way ended with an error event),
// hangs, retries, recovery times. Exits 1 when a retryable request was lost or a request hung.
// --soak S: also a bounded soak — S seconds of mixed load on 3 echo workers, sampling the RSS and
// open handles of this process (gateway and echo workers run in it) every 5 s.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { overloadScenario, rollingRestartScenario, runtimeKillScenario, workerKillScenario, type ScenarioResult } from './reliability-scenarios.js';
import { soak, type SoakResult } from './soak.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, soak: { type: 'string' } } });
const outDir = values.out ?? join(ROOT, 'reports/out/reliability');
const size = values.quick ? { warmMs: 800, tailMs: 800, concurrency: 6 } : { warmMs: 3000, tailMs: 3000, concurrency: 12 };
const log = (m: string) => process.stderr.write(`[reliability] ${m}\n`);

async function main(): Promise<number> {
  const results: ScenarioResult[] = [];
  for (const [name, run] of [
    ['worker-kill', () => workerKillScenario(size)],
    ['runtime-kill', () => runtimeKillScenario({ ...size, concurrency: Math.min(size.concurrency, 6) })],
    ['rolling-restart', () => rollingRestartScenario(size)],
    ['overload', () => overloadScenario({ ...size, concurrency: size.concurrency * 2 })],
  ] as const) {
    log(`${name} …`);
    const t0 = Date.now();
    const r = await run();
    log(`${name}: sent ${r.load.sent}, ok ${r.load.ok}, lost ${r.load.lost}, failed clearly ${r.load.failedClear}, hangs ${r.load.hangs} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    results.push(r);
  }
  let soakResult: SoakResult | undefined;
  if (values.soak !== undefined) {
    log(`soak ${values.soak} s …`);
    soakResult = await soak({ durationMs: Number(values.soak) * 1000, sampleEveryMs: 5000, concurrency: 8 });
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ generatedAt: new Date().toISOString(), size, results, soak: soakResult ?? null }, null, 2));
  writeFileSync(join(outDir, 'report.md'), render(results, soakResult));
  log(`wrote ${join(outDir, 'report.md')}`);
  // Overload sheds by design: its refusals are not losses.
  const bad = results.filter((r) => r.name !== 'overload' && (r.load.lost > 0 || r.load.hangs > 0));
  const overloadHangs = results.find((r) => r.name === 'overload')?.load.hangs ?? 0;
  return bad.length > 0 || overloadHangs > 0 || soakResult?.pass === false ? 1 : 0;
}

function render(results: ScenarioResult[], s: SoakResult | undefined): string {
  const lines = [
    '# Reliability report',
    '',
    `Generated ${new Date().toISOString()} by \`npm run reliability\` (live/cli/reliability.ts). Load: ${size.concurrency} closed-loop clients (half streamed), ${size.warmMs} ms before the fault, ${size.tailMs} ms after recovery.`,
    '',
    '*lost* = requests that had delivered nothing to the client and still failed (the gateway should have retried them; must be 0). *failed clearly* = streams already under way when their worker died, ended with an SSE error event and `[DONE]` (never retried after tokens, by design). *hangs* = no complete answer within the client timeout or a stream without `[DONE]`. In *overload*, refusals (503 with Retry-After) are shedding by design and show under *lost*.',
    '',
    '| scenario | sent | ok | lost | failed clearly | hangs | retries | refusal codes |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.name} | ${r.load.sent} | ${r.load.ok} | ${r.load.lost} | ${r.load.failedClear} | ${r.load.hangs} | ${r.retries} | ${Object.entries(r.load.byCode).map(([c, n]) => `${c} ×${n}`).join(', ') || '—'} |`),
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.name}`, '', ...r.faults.map((f) => `- fault: ${f}`), ...Object.entries(r.timings).map(([k, v]) => `- ${k}: ${v === null ? 'did not happen within its bound' : `${v} ms`}`), ...r.notes.map((n) => `- ${n}`), '');
  }
  if (s !== undefined) {
    lines.push('## Soak', '', `${(s.durationMs / 1000).toFixed(0)} s of mixed load (${s.sent} requests, ${s.failed} failed). Bound: RSS growth after warm-up ≤ ${s.rssGrowthBoundMb} MB, handles back to within ${s.handleSlack} of the start after the load stops.`, '',
      '| t (s) | RSS (MB) | heap used (MB) | active handles |', '|---:|---:|---:|---:|',
      ...s.samples.map((x) => `| ${(x.tMs / 1000).toFixed(0)} | ${x.rssMb.toFixed(1)} | ${x.heapMb.toFixed(1)} | ${x.handles} |`), '',
      `- RSS growth from the first sample after warm-up to the last: ${s.rssGrowthMb.toFixed(1)} MB`, `- handles before: ${s.handlesBefore}, after stop: ${s.handlesAfter}`, `- result: ${s.pass ? 'pass' : 'FAIL'}`, '');
  }
  return lines.join('\n');
}

main().then((code) => process.exit(code), (err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
