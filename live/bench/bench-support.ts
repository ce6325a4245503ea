// What the gateway benches share: spawning the serving processes (echo worker, gateway, bare Fastify)
// each in its own node process and waiting for its ready line, CPU accounting from /proc, percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
}

/**
 * Runs `script` under tsx in a new node process and resolves once it prints `{"ready":true,…}`.
 * BENCH_CPU_PROF_DIR=<dir> CPU-profiles the gateway process (`--cpu-prof`).
 */
export function spawnReady(script: string, args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const prof = process.env.BENCH_CPU_PROF_DIR !== undefined && script.includes('gateway') ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
    const proc = spawn(process.execPath, [...prof, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('"ready":true')) continue;
        const msg = JSON.parse(line) as { url?: string; address?: string };
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve({ proc, url: msg.url ?? msg.address! });
        return;
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

const CLOCK_TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** The q-quantile of an ascending array (nearest rank, floor). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The median of the finite values (NaN when there is none). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
