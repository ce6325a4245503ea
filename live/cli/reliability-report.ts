// The reliability report (markdown) from the scenario results and the soaks: see reliability.ts.
import type { ProcessSoakResult } from './process-soak.js';
import type { ScenarioResult, ScenarioSize } from './reliability-scenarios.js';
import type { SoakResult } from './soak.js';

export function renderReliability(results: readonly ScenarioResult[], size: ScenarioSize, procSoak: ProcessSoakResult | undefined, gwSoak: SoakResult | undefined): string {
  const lines = [
    '# Reliability report',
    '',
    `Generated ${new Date().toISOString()} by \`npm run reliability\` (live/cli/reliability.ts). Load: ${size.concurrency} closed-loop clients (half streamed), ${size.warmMs} ms before the fault, ${size.tailMs} ms after recovery.`,
    '',
    '*lost* = requests that had delivered nothing to the client and still failed (the gateway should have retried them; must be 0). *failed clearly* = streams already under way when their worker died, ended with an SSE error event and `[DONE]` (never retried after tokens, by design). *hangs* = no complete answer within the client timeout or a stream without `[DONE]`. *leaked* = processes left running (an orphaned runtime, anything alive after teardown); — where not measured. In *overload*, refusals (503 with Retry-After) are shedding by design and show under *lost*.',
    '',
    '| scenario | sent | ok | lost | failed clearly | hangs | retries | leaked | refusal codes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.name} | ${r.load.sent} | ${r.load.ok} | ${r.load.lost} | ${r.load.failedClear} | ${r.load.hangs} | ${r.retries} | ${r.leaked ?? '—'} | ${Object.entries(r.load.byCode).map(([c, n]) => `${c} ×${n}`).join(', ') || '—'} |`),
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.name}`, '', ...r.faults.map((f) => `- fault: ${f}`), ...Object.entries(r.timings).map(([k, v]) => `- ${k}: ${v === null ? 'did not happen within its bound' : `${v} ms`}`), ...r.notes.map((n) => `- ${n}`), '');
  }
  if (procSoak !== undefined) lines.push(...processSoakSection(procSoak));
  if (gwSoak !== undefined) lines.push(...gatewaySoakSection(gwSoak));
  return lines.join('\n');
}

function processSoakSection(s: ProcessSoakResult): string[] {
  const roles = s.roles.map((r) => r.role);
  const cell = (x: { rssMb: number; fds: number | null; sockets: number | null } | null | undefined) => (x === null || x === undefined ? 'gone' : `${x.rssMb.toFixed(1)} / ${x.fds ?? '?'} / ${x.sockets ?? '?'}`);
  const fd = (d: { fds: number; sockets: number } | null | undefined) => (d === null || d === undefined ? 'n/a' : `${d.fds} fds, ${d.sockets} sockets`);
  return [
    '## Soak over real processes',
    '',
    `${(s.durationMs / 1000).toFixed(0)} s of mixed load (short and long prompts, streamed and not, unique and cacheable) from 8 closed-loop clients on a gateway process in front of 2 worker node processes, each driving one python runtime of the tiny model: ${s.load.sent} requests, ${s.load.ok} ok, ${s.load.sent - s.load.ok} failed.`,
    `Bounds: RSS growth per process from the end of the warm-up (${(s.warmupMs / 1000).toFixed(0)} s) to the end ≤ ${s.rssGrowthBoundMb} MB; idle descriptors and sockets after the load within ${s.descriptorSlack} of idle before it; no runtime restarted; every process gone after SIGTERM to the gateway and worker nodes (leaders only).`,
    '',
    'Processes: ' + s.roles.map((r) => `${r.role} (pid ${r.pid})`).join(', ') + '.',
    '',
    'Each cell: RSS MB / open descriptors / sockets.',
    '',
    `| t (s) | requests | ${roles.join(' | ')} |`,
    `|---:|---:|${roles.map(() => '---:').join('|')}|`,
    ...s.samples.map((x) => `| ${(x.tMs / 1000).toFixed(0)} | ${x.sent} | ${roles.map((r) => cell(x.procs[r])).join(' | ')} |`),
    '',
    ...roles.map((r) => `- ${r}: RSS growth after warm-up ${s.rssGrowthMb[r]!.toFixed(1)} MB; idle before the load ${fd(s.idleBefore[r])}, idle after it ${fd(s.idleAfter[r])}`),
    `- runtimes restarted during the soak: ${s.runtimeRestarts}`,
    `- processes alive after SIGTERM to the leaders: ${s.leftAfterStop} (all gone in ${s.stopMs} ms)`,
    `- result: ${s.pass ? 'pass' : `FAIL: ${s.failures.join('; ')}`}`,
    '',
  ];
}

function gatewaySoakSection(s: SoakResult): string[] {
  return [
    '## Gateway soak (in-process echo workers, high request rate)',
    '',
    `${(s.durationMs / 1000).toFixed(0)} s of mixed load (${s.sent} requests, ${s.failed} failed) on a gateway with 3 echo workers, all in the reporting process. Bound: RSS growth after warm-up ≤ ${s.rssGrowthBoundMb} MB, handles back to within ${s.handleSlack} of the start after the load stops.`,
    '',
    '| t (s) | RSS (MB) | heap used (MB) | active handles |', '|---:|---:|---:|---:|',
    ...s.samples.map((x) => `| ${(x.tMs / 1000).toFixed(0)} | ${x.rssMb.toFixed(1)} | ${x.heapMb.toFixed(1)} | ${x.handles} |`), '',
    `- RSS growth from the first sample after warm-up to the last: ${s.rssGrowthMb.toFixed(1)} MB`, `- handles before: ${s.handlesBefore}, after stop: ${s.handlesAfter}`, `- result: ${s.pass ? 'pass' : 'FAIL'}`, '',
  ];
}
