// A bounded soak over real processes: a gateway process (live/gateway/main.ts) in front of two worker
// node processes (live/worker/main.ts), each driving one python runtime of the tiny model; this
// process only sends the load (mixed: short and long prompts, streamed and not, unique and
// cacheable). Every `sampleEveryMs` it records, per process, the resident memory (ps) and the open
// descriptors and sockets (/proc, Linux). It passes when:
//   - no request failed;
//   - no process's RSS grew by more than its bound from the end of the warm-up to the end;
//   - with the system idle again, no process holds more than `descriptorSlack` more descriptors or
//     sockets than it did idle before the load (no leaked connections);
//   - no runtime was restarted during the soak (same pids throughout);
//   - after SIGTERM to the gateway and the worker nodes (leaders only, not their process groups),
//     every process of the cluster has exited within the grace period (no leaked children).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGatewayProcess, startWorkerProcess } from '../shared/launch.js';
import { alivePids, descriptors, processTable, processTree, type Descriptors } from '../shared/proc-stats.js';
import { ProcessSet } from '../shared/processes.js';
import { ensureModel } from '../shared/model.js';
import { startLoad, summarize, type LoadSummary } from './fault-scenarios.js';

const KEY = 'sk-process-soak-0001';
const MB_PER_KB = 1 / 1024;
/** The gateway closes idle keep-alive connections after this (limits.keepAliveTimeoutMs); the idle
 *  descriptor count after the load is taken SETTLE_MS later, once the clients' sockets are closed. */
const KEEP_ALIVE_MS = 3_000;
const SETTLE_MS = KEEP_ALIVE_MS + 3_000;
const STOP_GRACE_MS = 15_000;

export interface ProcessSoakOptions {
  readonly durationMs: number;
  readonly sampleEveryMs: number;
  readonly concurrency: number;
  /** RSS growth allowed per process after the warm-up, MB (default 64). */
  readonly rssGrowthBoundMb?: number;
  readonly descriptorSlack?: number;
}

export interface ProcSample { readonly rssMb: number; readonly fds: number | null; readonly sockets: number | null }
export interface ProcessSoakSample { readonly tMs: number; readonly sent: number; readonly procs: Record<string, ProcSample | null> }

export interface ProcessSoakResult {
  readonly durationMs: number;
  readonly load: LoadSummary;
  /** Process roles, e.g. gateway, w1, w1/runtime-1 (with pids). */
  readonly roles: { readonly role: string; readonly pid: number; readonly command: string }[];
  readonly samples: ProcessSoakSample[];
  readonly warmupMs: number;
  readonly rssGrowthMb: Record<string, number>;
  readonly rssGrowthBoundMb: number;
  readonly idleBefore: Record<string, Descriptors | null>;
  readonly idleAfter: Record<string, Descriptors | null>;
  readonly descriptorSlack: number;
  readonly runtimeRestarts: number;
  /** Processes of the cluster still alive STOP_GRACE_MS after SIGTERM to the leaders. */
  readonly leftAfterStop: number;
  readonly stopMs: number;
  readonly failures: string[];
  readonly pass: boolean;
}

export async function processSoak(o: ProcessSoakOptions): Promise<ProcessSoakResult> {
  const bound = o.rssGrowthBoundMb ?? 64;
  const slack = o.descriptorSlack ?? 8;
  const model = { id: 'tiny', path: ensureModel('tiny') };
  const dir = mkdtempSync(join(tmpdir(), 'soak-proc-'));
  const ps = new ProcessSet();
  try {
    const workers = await Promise.all(['w1', 'w2'].map((id) => startWorkerProcess(ps, { id, address: `unix://${join(dir, `${id}.sock`)}`, model, runtimes: 1, maxConcurrent: 16 })));
    const gw = await startGatewayProcess(ps, {
      listen: { host: '127.0.0.1', port: 0 }, auth: { apiKeys: [KEY] }, logLevel: 'warn', limits: { keepAliveTimeoutMs: KEEP_ALIVE_MS },
      workers: workers.map((w, i) => ({ id: `w${i + 1}`, address: w.address })),
      core: { routing: { type: 'least-loaded' } },
    }, dir);
    const table = processTable();
    const roles: { role: string; pid: number; command: string }[] = [{ role: 'gateway', pid: gw.proc.pid!, command: table.get(gw.proc.pid!)?.command ?? '' }];
    workers.forEach((w, i) => {
      const tree = processTree(w.proc.pid!, table);
      roles.push({ role: `w${i + 1}`, pid: w.proc.pid!, command: tree[0]?.command ?? '' });
      // The python runtimes; other children (tsx's esbuild service) come and go and are not sampled,
      // but they count in the leak check at the end.
      tree.slice(1).filter((r) => r.command.includes('mlx_runtime')).forEach((r, k) => roles.push({ role: `w${i + 1}/runtime-${k + 1}`, pid: r.pid, command: r.command }));
    });
    const fdsOf = () => Object.fromEntries(roles.map((r) => [r.role, descriptors(r.pid) ?? null]));
    const idleBefore = fdsOf();

    const t0 = Date.now();
    const c = o.concurrency;
    const base = { url: gw.address, apiKey: KEY, model: 'tiny', clientTimeoutMs: 60_000 };
    const loads = [
      startLoad({ ...base, concurrency: Math.max(1, Math.ceil(c / 2)), streamRatio: 0.5, maxTokens: 16, prompt: 'a b c d e f g h i j k l m n o p' }),
      startLoad({ ...base, concurrency: Math.max(1, Math.floor(c / 4)), streamRatio: 0.3, maxTokens: 32, prompt: 'the quick brown fox jumps over the lazy dog '.repeat(20) }),
      startLoad({ ...base, concurrency: Math.max(1, Math.floor(c / 4)), streamRatio: 0.5, maxTokens: 16, prompt: '', cacheable: { prompts: Array.from({ length: 8 }, (_, i) => `cached question number ${i}`) } }),
    ];
    const samples: ProcessSoakSample[] = [];
    const sample = () => {
      const t = processTable();
      samples.push({
        tMs: Date.now() - t0,
        sent: loads.reduce((s, l) => s + l.records.length, 0),
        procs: Object.fromEntries(roles.map((r) => {
          const row = t.get(r.pid);
          const d = descriptors(r.pid);
          return [r.role, row === undefined ? null : { rssMb: row.rssKb * MB_PER_KB, fds: d?.fds ?? null, sockets: d?.sockets ?? null }];
        })),
      });
    };
    while (Date.now() - t0 < o.durationMs) {
      sample();
      await sleep(Math.min(o.sampleEveryMs, Math.max(0, o.durationMs - (Date.now() - t0))));
    }
    sample();
    await Promise.all(loads.map((l) => l.stop()));
    const load = summarize(loads.flatMap((l) => l.records));
    const durationMs = Date.now() - t0;
    await sleep(SETTLE_MS);
    const idleAfter = fdsOf();

    const warmupMs = Math.min(60_000, Math.round(o.durationMs * 0.2));
    const warm = samples.find((s) => s.tMs >= warmupMs) ?? samples[0]!;
    const last = samples.at(-1)!;
    const rssGrowthMb = Object.fromEntries(roles.map((r) => [r.role, (last.procs[r.role]?.rssMb ?? NaN) - (warm.procs[r.role]?.rssMb ?? NaN)]));
    const runtimePids = roles.filter((r) => r.role.includes('/runtime')).map((r) => r.pid);
    const runtimeRestarts = runtimePids.length - alivePids(runtimePids).length;

    // Stop the leaders only: each must take its own children down.
    const everyPid = new Set<number>();
    for (const p of ps.all) for (const r of processTree(p.pid!)) everyPid.add(r.pid);
    const tStop = Date.now();
    for (const p of [gw.proc, ...workers.map((w) => w.proc)]) p.child.kill('SIGTERM');
    let left = alivePids([...everyPid]);
    while (left.length > 0 && Date.now() - tStop < STOP_GRACE_MS) {
      await sleep(100);
      left = alivePids([...everyPid]);
    }
    const stopMs = Date.now() - tStop;

    const failures: string[] = [];
    if (load.sent !== load.ok) failures.push(`${load.sent - load.ok} of ${load.sent} requests failed (${JSON.stringify(load.byCode)})`);
    for (const [role, g] of Object.entries(rssGrowthMb)) if (!(g <= bound)) failures.push(`${role}: RSS grew ${g.toFixed(1)} MB after the warm-up (bound ${bound} MB)`);
    for (const r of roles) {
      const a = idleBefore[r.role];
      const b = idleAfter[r.role];
      if (a === null || a === undefined || b === null || b === undefined) continue;
      if (b.fds > a.fds + slack || b.sockets > a.sockets + slack) failures.push(`${r.role}: descriptors ${a.fds}→${b.fds}, sockets ${a.sockets}→${b.sockets} (slack ${slack})`);
    }
    if (runtimeRestarts > 0) failures.push(`${runtimeRestarts} runtime(s) restarted during the soak`);
    if (left.length > 0) failures.push(`${left.length} process(es) still alive ${STOP_GRACE_MS} ms after SIGTERM: ${left.join(', ')}`);
    return {
      durationMs, load, roles, samples, warmupMs, rssGrowthMb, rssGrowthBoundMb: bound, idleBefore, idleAfter, descriptorSlack: slack,
      runtimeRestarts, leftAfterStop: left.length, stopMs, failures, pass: failures.length === 0,
    };
  } finally {
    await ps.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
