// What a live run adds on a gateway side (scenarios/live/live-run.ts): the per-worker shares of the
// requests dispatched and of the tokens streamed, read from the gateway's /metrics at the end of the
// side, and the kill of one worker node mid-run (a scenario's `live.killWorker`): SIGKILL of the
// node process and of its python runtime(s) at a fixed time after the load starts, as
// live/cli/node-kill-scenario.ts does in `npm run reliability` (there the runtime is left orphaned on
// purpose; here both die at once, as when a host's process tree is lost).
import { METRIC } from '../../live/gateway/metrics-names.js';

const RETRIES = new RegExp(`^${METRIC.retries} ([-0-9.e+]+)$`, 'm');
import { processTree } from '../../live/shared/proc-stats.js';
import type { ManagedProcess } from '../../live/shared/processes.js';
import { tokenShares } from '../steady.js';

/** Per-worker counters: requests dispatched (attempts, retries included) and tokens streamed; the gateway's retries. */
export interface WorkerShares {
  readonly dispatches: Readonly<Record<string, number>>;
  readonly tokens: Readonly<Record<string, number>>;
  readonly retries: number;
}

/** Sums of `name` by its `worker` label in a Prometheus text exposition. */
export function byWorker(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)\{([^}]*)\} ([-0-9.e+]+|NaN)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const w = /(?:^|,)worker="([^"]*)"/.exec(m[2]!);
    if (w !== null) out[w[1]!] = (out[w[1]!] ?? 0) + Number(m[3]);
  }
  return out;
}

export function sharesOf(metricsText: string): WorkerShares {
  const retries = RETRIES.exec(metricsText);
  return { dispatches: byWorker(metricsText, METRIC.workerDispatches), tokens: byWorker(metricsText, METRIC.workerTokens), retries: retries === null ? 0 : Number(retries[1]) };
}

/** The gateway's per-worker shares (undefined if /metrics does not answer). */
export async function scrapeShares(baseUrl: string, apiKey: string): Promise<WorkerShares | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    return sharesOf(await res.text());
  } catch {
    return undefined;
  }
}

/** What happened between two scrapes (`after` − `before`, per worker): the load's shares without the warm-up's. */
export function sharesSince(after: WorkerShares, before: WorkerShares | undefined): WorkerShares {
  if (before === undefined) return after;
  const minus = (x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v - (y[k] ?? 0)]));
  return { dispatches: minus(after.dispatches, before.dispatches), tokens: minus(after.tokens, before.tokens), retries: after.retries - before.retries };
}

/** "w0 24.8 % (310), w1 25.3 % (316), …" for one counter, workers in order; "none" when empty. */
export function formatShares(counts: Readonly<Record<string, number>>): string {
  const ids = Object.keys(counts).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const total = ids.reduce((s, id) => s + counts[id]!, 0);
  if (total === 0) return 'none';
  return ids.map((id) => `${id} ${((100 * counts[id]!) / total).toFixed(1)} % (${Math.round(counts[id]!)})`).join(', ');
}

/** Figures for the summary's `extra`: the largest and smallest worker's share of the tokens (0–1). */
export function shareExtremes(s: WorkerShares, workers: number): { tokenShareMax: number; tokenShareMin: number } {
  return tokenShares(Array.from({ length: workers }, (_, i) => s.tokens[`w${i}`] ?? 0));
}

export interface KillPlan {
  readonly workerIndex: number;
  readonly atMs: number;
}

export interface ScheduledKill {
  /** The processes killed on purpose (the run's died-watch leaves them alone). */
  readonly killed: ReadonlySet<ManagedProcess>;
  /** What happened, for the report (undefined while the kill has not run). */
  readonly outcome: () => string | undefined;
  readonly cancel: () => void;
}

/**
 * SIGKILLs worker node `workerProcs[plan.workerIndex]` and every process under it (its python
 * runtimes) `plan.atMs` after now. The node is marked killed before the signal, so its exit is
 * expected.
 */
export function scheduleKill(workerProcs: readonly ManagedProcess[], plan: KillPlan, log: (m: string) => void): ScheduledKill {
  const victim = workerProcs[plan.workerIndex];
  if (victim === undefined) throw new Error(`kill: no worker node w${plan.workerIndex} (${workerProcs.length} started)`);
  const killed = new Set<ManagedProcess>();
  let outcome: string | undefined;
  const t0 = performance.now();
  const timer = setTimeout(() => {
    killed.add(victim);
    const pid = victim.pid;
    const tree = pid === undefined ? [] : processTree(pid);
    for (const r of tree) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    victim.signalGroup('SIGKILL');
    const at = Math.round(performance.now() - t0);
    outcome = `worker node w${plan.workerIndex} (pid ${pid}) and its ${Math.max(0, tree.length - 1)} child process(es) SIGKILLed ${(at / 1000).toFixed(1)} s into the load (planned ${plan.atMs / 1000} s)`;
    log(outcome);
  }, plan.atMs);
  return { killed, outcome: () => outcome, cancel: () => clearTimeout(timer) };
}
