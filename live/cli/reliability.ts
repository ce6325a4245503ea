// npm run reliability [-- --out DIR] [--quick] [--only a,b] [--soak SECONDS] [--soak-gateway SECONDS]
//
// Runs the fault scenarios against real processes and writes reports/out/reliability/report.md and
// results.json: faults injected, requests sent, lost (retryable and still failed), failed with a
// clear error (a stream under way ended with an error event), hangs, retries, recovery times, leaks.
// Exits 1 when a retryable request was lost, a request hung, a process leaked or a soak failed.
//   node-kill        worker node processes with python runtimes; one node SIGKILLed (node-kill-scenario.ts)
//   runtime-kill     one python runtime of a worker node SIGKILLed (reliability-scenarios.ts)
//   worker-kill      the same fault on echo worker nodes: gateway failover timings without MLX
//   slow-worker      latency-aware routing and the breaker timeout (reliability-more-scenarios.ts)
//   nats-restart     the registry goes away and comes back (reliability-more-scenarios.ts)
//   rolling-restart  POST /admin/restart?rolling=true under load
//   overload         shedding with 429/503 + Retry-After, serving from cache
// --soak S: S seconds of mixed load on a gateway process and 2 worker node processes with python
//   runtimes, sampling each process's RSS, descriptors and sockets every 5 s (process-soak.ts).
// --soak-gateway S: S seconds of high-rate load on a gateway with in-process echo workers, sampling
//   this process's RSS and handles (soak.ts): many more requests through the gateway's own paths.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { outputRoot } from '../shared/install.js';
import { nodeKillScenario } from './node-kill-scenario.js';
import { processSoak, type ProcessSoakResult } from './process-soak.js';
import { renderReliability } from './reliability-report.js';
import { natsRestartScenario, slowWorkerScenario } from './reliability-more-scenarios.js';
import { overloadScenario, rollingRestartScenario, runtimeKillScenario, workerKillScenario, type ScenarioResult, type ScenarioSize } from './reliability-scenarios.js';
import { soak, type SoakResult } from './soak.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' }, soak: { type: 'string' }, 'soak-gateway': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } });
if (values.help) {
  // The header comment above is the help (as in cluster.ts).
  process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n')}\n`);
  process.exit(0);
}
// The clone's reports/out, or the working directory's when built (install.ts).
const outDir = values.out ?? join(outputRoot(), 'reports/out/reliability');
const size = values.quick ? { warmMs: 800, tailMs: 800, concurrency: 6 } : { warmMs: 3000, tailMs: 3000, concurrency: 12 };
const log = (m: string) => process.stderr.write(`[reliability] ${m}\n`);

const SCENARIOS: readonly (readonly [string, (size: ScenarioSize) => Promise<ScenarioResult>])[] = [
  ['node-kill', (z) => nodeKillScenario({ ...z, concurrency: Math.min(z.concurrency, 8) })],
  ['runtime-kill', (z) => runtimeKillScenario({ ...z, concurrency: Math.min(z.concurrency, 6) })],
  ['worker-kill', (z) => workerKillScenario(z)],
  ['slow-worker', (z) => slowWorkerScenario(z)],
  ['nats-restart', (z) => natsRestartScenario(z)],
  ['rolling-restart', (z) => rollingRestartScenario(z)],
  ['overload', (z) => overloadScenario({ ...z, concurrency: z.concurrency * 2 })],
];

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) {
    log(`--${flag} must be a number of seconds in (0, 86400], got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const only = values.only?.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const unknown = (only ?? []).filter((n) => !SCENARIOS.some(([name]) => name === n));
  if (unknown.length > 0) {
    log(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map(([n]) => n).join(', ')}`);
    return 2;
  }
  const soakS = values.soak === undefined ? undefined : seconds('soak', values.soak);
  const soakGatewayS = values['soak-gateway'] === undefined ? undefined : seconds('soak-gateway', values['soak-gateway']);
  const results: ScenarioResult[] = [];
  for (const [name, run] of SCENARIOS.filter(([n]) => only === undefined || only.includes(n))) {
    log(`${name} …`);
    const t0 = Date.now();
    const r = await run(size);
    log(`${name}: sent ${r.load.sent}, ok ${r.load.ok}, lost ${r.load.lost}, failed clearly ${r.load.failedClear}, hangs ${r.load.hangs}${r.leaked !== undefined ? `, leaked ${r.leaked}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    results.push(r);
  }
  let procSoak: ProcessSoakResult | undefined;
  if (soakS !== undefined) {
    log(`soak over processes, ${soakS} s …`);
    procSoak = await processSoak({ durationMs: soakS * 1000, sampleEveryMs: 5000, concurrency: 8 });
    log(`soak: ${procSoak.pass ? 'pass' : `FAIL: ${procSoak.failures.join('; ')}`}`);
  }
  let gwSoak: SoakResult | undefined;
  if (soakGatewayS !== undefined) {
    log(`gateway soak, ${soakGatewayS} s …`);
    gwSoak = await soak({ durationMs: soakGatewayS * 1000, sampleEveryMs: 5000, concurrency: 8 });
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ generatedAt: new Date().toISOString(), size, results, soak: procSoak ?? null, gatewaySoak: gwSoak ?? null }, null, 2));
  writeFileSync(join(outDir, 'report.md'), renderReliability(results, size, procSoak, gwSoak));
  log(`wrote ${join(outDir, 'report.md')}`);
  // Overload sheds by design: its refusals are not losses.
  const bad = results.filter((r) => (r.name !== 'overload' && r.load.lost > 0) || r.load.hangs > 0 || (r.leaked ?? 0) > 0);
  return bad.length > 0 || procSoak?.pass === false || gwSoak?.pass === false ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
