// node-kill: a whole worker node dies, for real. Three worker node processes (live/worker/main.ts,
// each driving one python runtime of the tiny model) behind a gateway, under a closed-loop load.
// The node process w2 is SIGKILLed (not its process group: its python runtime is orphaned and must
// notice its closed stdin and exit by itself — a leaked runtime counts against the scenario). The
// gateway retries w2's requests that had sent no token elsewhere; streams already under way end with
// an error event and [DONE]. Then w2 is started again on the same socket; its breaker goes half-open
// after the cooldown, its probes succeed, and it takes traffic again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { METRIC } from '../gateway/metrics-names.js';
import { startWorkerProcess, type StartedProcess } from '../shared/launch.js';
import { alivePids, processTree } from '../shared/proc-stats.js';
import { ProcessSet } from '../shared/processes.js';
import { ensureModel } from '../shared/model.js';
import { startLoad, workerView } from './fault-scenarios.js';
import { waitFor } from '../shared/poll.js';
import { RELIABILITY_KEY, gatewayConfig, metricSum, type ScenarioResult, type ScenarioSize } from './reliability-scenarios.js';

/** How long an orphaned runtime may take to see EOF on stdin and exit. */
const ORPHAN_EXIT_BOUND_MS = 15_000;

export async function nodeKillScenario(size: ScenarioSize): Promise<ScenarioResult> {
  const model = { id: 'tiny', path: ensureModel('tiny') };
  const dir = mkdtempSync(join(tmpdir(), 'rel-node-'));
  const ps = new ProcessSet();
  const start = (id: string) => startWorkerProcess(ps, { id, address: `unix://${join(dir, `${id}.sock`)}`, model, runtimes: 1, maxConcurrent: 8 });
  let gw: Gateway | undefined;
  const everyPid = new Set<number>();
  try {
    const nodes: StartedProcess[] = await Promise.all(['w1', 'w2', 'w3'].map(start));
    gw = buildGateway({
      config: gatewayConfig(nodes.map((n, i) => ({ id: `w${i + 1}`, address: n.address })), { health: { heartbeatIntervalMs: 250, missesMax: 4 }, routing: { type: 'least-loaded' } }, { requestTimeoutMs: 60_000 }),
      logger: false,
    });
    const url = await gw.start();
    const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'tiny', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 24, prompt: 'Tell me a long story about the sea.', clientTimeoutMs: 60_000 });
    try {
      await sleep(size.warmMs);
      const victim = nodes[1]!.proc;
      const tree = processTree(victim.pid!);
      for (const r of tree) everyPid.add(r.pid);
      const runtimePids = tree.slice(1).map((r) => r.pid);
      const shareBefore = await Promise.all(['w1', 'w2', 'w3'].map(async (id) => `${id} ${await metricSum(gw!, METRIC.workerDispatches, `worker="${id}"`)}`));
      const tKill = Date.now();
      process.kill(victim.pid!, 'SIGKILL');
      const g = gw;
      const outOfRoutingMs = await waitFor(() => {
        const v = workerView(g, 'w2');
        return v === undefined || v.breaker !== 'closed' || !v.healthy;
      }, 20_000);
      const breakerOpenMs = await waitFor(() => workerView(g, 'w2')?.breaker === 'open', 20_000);
      const orphansGone = await waitFor(() => alivePids(runtimePids).length === 0, ORPHAN_EXIT_BOUND_MS, 100);
      const orphansGoneMs = orphansGone === undefined ? undefined : Date.now() - tKill;
      const orphansLeft = alivePids(runtimePids).length;
      const tRestart = Date.now();
      const revived = await start('w2');
      const restartReadyMs = Date.now() - tRestart;
      const dispatchesAtRestart = await metricSum(g, METRIC.workerDispatches, 'worker="w2"');
      const recoveredMs = await waitFor(async () => {
        const v = workerView(g, 'w2');
        return v !== undefined && v.breaker === 'closed' && v.healthy && (await metricSum(g, METRIC.workerDispatches, 'worker="w2"')) > dispatchesAtRestart;
      }, 60_000, 50);
      const recoveredAt = Date.now();
      await sleep(size.tailMs);
      const summary = await load.stop();
      for (const n of [nodes[0]!, revived, nodes[2]!]) for (const r of processTree(n.proc.pid!)) everyPid.add(r.pid);
      const servedAfter = (await metricSum(g, METRIC.workerDispatches, 'worker="w2"')) - dispatchesAtRestart;
      const retries = await metricSum(g, METRIC.retries);
      await gw.stop();
      gw = undefined;
      await ps.stopAll();
      const leftAfterStop = alivePids([...everyPid]).length;
      return {
        name: 'node-kill',
        faults: [
          'worker node process w2 SIGKILLed mid-load (3 worker node processes, each with 1 python runtime of the tiny model)',
          'w2 started again on the same socket once its orphaned runtime had exited',
        ],
        load: summary,
        retries,
        timings: {
          outOfRoutingAfterKillMs: outOfRoutingMs ?? null,
          breakerOpenAfterKillMs: breakerOpenMs ?? null,
          orphanedRuntimeExitedAfterKillMs: orphansGoneMs ?? null,
          restartedNodeReadyMs: restartReadyMs,
          breakerClosedAndServingAfterRestartMs: recoveredMs ?? null,
          totalOutageMs: recoveredMs === undefined ? null : recoveredAt - tKill,
        },
        notes: [
          `requests dispatched before the kill: ${shareBefore.join(', ')}; to w2 after its restart: ${servedAfter}`,
          `python runtimes of the killed node still alive ${ORPHAN_EXIT_BOUND_MS / 1000} s after the kill: ${orphansLeft} (of ${runtimePids.length})`,
          `processes of the scenario alive after teardown: ${leftAfterStop} (of ${everyPid.size})`,
          'least-loaded routing (one prompt for every request: session affinity would send them all to one node); breaker cooldown 1500 ms, 2 half-open probes; heartbeats every 250 ms, 4 misses',
        ],
        leaked: orphansLeft + leftAfterStop,
      };
    } finally {
      await load.stop();
    }
  } finally {
    await gw?.stop();
    await ps.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
