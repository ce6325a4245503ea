// Runs one scenario live: the baseline, then the candidate, each on its own freshly started server
// (mlx_lm.server for a `direct` policy set; gateway + worker node(s) + python runtimes for a
// `gateway` one) serving the same model, driven by the same load generator with the same seeded
// workload (the scenario's, scaled by its `live` section). Servers are stopped after their run and,
// whatever happens (a failure, Ctrl-C), before this returns or throws. With `repeat` N both sides run
// N times, alternating which goes first; the result holds the medians (see repeat.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad, type LoadRunResult } from '../../live/load/index.js';
import { arrivalsOf } from './arrivals.js';
import { runSummaryOfLoad } from './load-summary.js';
import { streamChat } from '../../live/load/client.js';
import type { PolicySetDef, ScenarioDef } from '../define.js';
import type { ClosedLoopConfig, OpenLoopConfig } from '../../sim/workload/types.js';
import type { LiveErrorCount, ScenarioResult } from '../../reports/result.js';
import { buildRows } from '../targets.js';
import { freePort, LiveRunError, ProcessSet, type ManagedProcess } from '../../live/shared/processes.js';
import { liveMaxSequences, liveSection, liveWorkload } from './scale.js';
import { aggregateRepetitions, orderOf, repetitionCurves, type RepetitionPair } from './repeat.js';
import { checkModelDir, ensureModel, LIVE_API_KEY, startBaseline, startCluster, type Server } from './servers.js';
import { formatShares, scheduleKill, scrapeShares, shareExtremes, sharesSince, type ScheduledKill, type WorkerShares } from './cluster-side.js';
import { pinningMap } from './gpu-pinning.js';
import { runtimeBucketsNote, runtimeEnv } from './runtime-env.js';
import { STEADY_KEY, steadyOutputTokPerS, steadyWindow } from '../steady.js';

type LiveWorkload = OpenLoopConfig | ClosedLoopConfig;

export interface LiveRunOptions {
  readonly seed?: number;
  /** Ctrl-C: stop now, tear everything down. */
  readonly signal?: AbortSignal;
  /** Ports: gateway = portBase, baseline = portBase + 1 (default: free ports chosen by the OS). */
  readonly portBase?: number;
  /** Serve this model directory instead of building the scenario's model. */
  readonly modelDir?: string;
  readonly log?: (message: string) => void;
  /** Per-request timeout (default 120 s). */
  readonly requestTimeoutMs?: number;
  /** Runs of each side (default 1), alternating which side goes first. */
  readonly repeat?: number;
  /** The side that runs first in repetition 1 (default baseline); later repetitions alternate. */
  readonly first?: 'baseline' | 'candidate';
  /** The live profile whose section `def.live` is (scenarios/live/profile.ts), for the report. */
  readonly profile?: { readonly profile: 'cpu' | 'gpu'; readonly reason: string };
  /** Pin the worker nodes of a gateway side to this many GPUs (node i: CUDA_VISIBLE_DEVICES=i mod gpus; gpu-pinning.ts). */
  readonly gpus?: number;
}

export const BASELINE_FLAGS_NOTE = 'Baseline: mlx_lm.server (mlx-lm 0.32.2) on the same model directory, its defaults (`--decode-concurrency 32 --prompt-concurrency 8 --prefill-step-size 2048 --prompt-cache-size 10`, what the simulator models) and `--max-tokens 4096`, started after `import mlx_runtime` so it uses the same OpenBLAS as the runtime on Linux and, on a GPU, the same bound on the MLX buffer cache (python/mlx_runtime/cache_limit.py). It keeps MLX\'s cuDNN attention on CUDA (MLX\'s default); the runtime turns it off unless MLX_RUNTIME_CUDNN_ATTENTION=mlx (python/mlx_runtime/cuda_attention.py).';

export async function runScenarioLive(def: ScenarioDef, opts: LiveRunOptions = {}): Promise<ScenarioResult> {
  const live = liveSection(def);
  const seed = opts.seed ?? def.seed;
  const log = opts.log ?? (() => undefined);
  const workload = liveWorkload(def);
  if (opts.modelDir !== undefined) checkModelDir(opts.modelDir);
  const modelDir = opts.modelDir ?? ensureModel(live.model, log);
  checkModelDir(modelDir);
  const gatewayPort = opts.portBase ?? (await freePort());
  const baselinePort = opts.portBase !== undefined ? opts.portBase + 1 : await freePort();
  const side = (policy: PolicySetDef, port: number) =>
    runSide(def, policy, { workload, seed, modelDir, modelId: live.model, port, opts, log });
  const repeat = opts.repeat ?? 1;
  const pairs: RepetitionPair[] = [];
  const errors: string[] = [];
  const sideNotes: string[] = [];
  const devices = { baseline: new Set<string>(), candidate: new Set<string>() };
  const errorCodes = { baseline: [] as LiveErrorCount[], candidate: [] as LiveErrorCount[] };
  for (let rep = 1; rep <= repeat; rep++) {
    const order = orderOf(rep, opts.first);
    if (repeat > 1) log(`repetition ${rep} of ${repeat} (${order})`);
    const runBaseline = () => side(def.baseline, def.baseline.kind === 'direct' ? baselinePort : gatewayPort);
    const runCandidate = () => side(def.candidate, gatewayPort);
    let b: SideResult;
    let c: SideResult;
    if (order === 'baseline-first') {
      b = await runBaseline();
      c = await runCandidate();
    } else {
      c = await runCandidate();
      b = await runBaseline();
    }
    pairs.push({ order, baseline: summaryOf(def, workload, b), candidate: summaryOf(def, workload, c) });
    devices.baseline.add(b.device);
    devices.candidate.add(c.device);
    const tag = repeat > 1 ? ` (repetition ${rep})` : '';
    errors.push(...errorNotes(`baseline${tag}`, b.load), ...errorNotes(`candidate${tag}`, c.load));
    sideNotes.push(...clusterNotes(`baseline${tag}`, b), ...clusterNotes(`candidate${tag}`, c));
    errorCodes.baseline.push(...b.load.errorCodes);
    errorCodes.candidate.push(...c.load.errorCodes);
  }
  const { baseline, candidate, repetitions } = aggregateRepetitions(pairs);
  const rows = buildRows(baseline, candidate, def.targets, def.report);
  const w = workload;
  const device = { baseline: [...devices.baseline].join(', '), candidate: [...devices.candidate].join(', ') };
  const notes = [
    ...(def.notes ?? []),
    `Live run on this machine: the project's ${live.model} model (${modelDir}), ${w.type === 'closed' ? `${w.users} closed-loop users` : 'open-loop arrivals'}, ${w.durationMs / 1000} s, token lengths × ${live.tokenScale ?? 1} of the sim workload, ${liveMaxSequences(def)} sequences per batch.`,
    ...(opts.profile !== undefined ? [`Live profile ${opts.profile.profile} (${opts.profile.reason}).`] : []),
    `MLX device: baseline ${device.baseline}, candidate ${device.candidate}.`,
    ...(repeat > 1 ? [`${repeat} repetitions of each side, alternating which side runs first; every figure is the median of the repetitions (the CDFs and timeline: the median-throughput repetition); per-repetition figures and min/median/max below.`] : []),
    runtimeBucketsNote(def),
    ...(def.baseline.kind === 'direct' ? [BASELINE_FLAGS_NOTE] : []),
    ...pinningNotes(def, opts.gpus),
    'Latencies are measured by the client (TTFT to the first content chunk, ITL between content chunks, E2E to the last byte); queue wait is not observable from the client and shows 0.',
    ...(def.sweep !== undefined ? ['The sweep curve is drawn in sim only.'] : []),
    ...sideNotes,
    ...errors,
  ];
  return {
    scenario: def.name, title: def.title, description: def.description, mode: 'live', seed,
    baseline, candidate, rows, curves: repeat > 1 ? repetitionCurves(repetitions, { baseline: baseline.policy, candidate: candidate.policy }) : [], capacity: [],
    passed: rows.every((r) => r.pass !== false), notes,
    live: {
      profile: opts.profile?.profile ?? 'cpu', profileReason: opts.profile?.reason ?? 'default', model: live.model, devices: device, repetitions,
      errors: { baseline: sumErrorCodes(errorCodes.baseline), candidate: sumErrorCodes(errorCodes.candidate) },
    },
  };
}

/** Counts of the same code added up (over repetitions), most frequent first, ties by code. */
export function sumErrorCodes(counts: readonly LiveErrorCount[]): LiveErrorCount[] {
  const by = new Map<string, { failed: number; rejected: number }>();
  for (const c of counts) {
    const n = by.get(c.code) ?? { failed: 0, rejected: 0 };
    by.set(c.code, { failed: n.failed + c.failed, rejected: n.rejected + c.rejected });
  }
  return [...by.entries()].map(([code, n]) => ({ code, ...n }))
    .sort((a, b) => b.failed + b.rejected - (a.failed + a.rejected) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

function errorNotes(which: string, r: LoadRunResult): string[] {
  if (r.errors.length === 0) return [];
  return [`${which} errors: ${r.errors.slice(0, 5).map(([m, n]) => `${n}× ${m}`).join('; ')}`];
}

interface SideContext {
  readonly workload: LiveWorkload;
  readonly seed: number;
  readonly modelDir: string;
  readonly modelId: string;
  readonly port: number;
  readonly opts: LiveRunOptions;
  readonly log: (m: string) => void;
}

interface SideResult {
  readonly load: LoadRunResult;
  /** The MLX device the side's server reported. */
  readonly device: string;
  /** A gateway side: its workers' shares of requests and tokens (from the gateway's /metrics). */
  readonly shares?: WorkerShares;
  readonly workers: number;
  /** What the planned kill of a worker node did (live.killWorker), if the side had that node. */
  readonly kill?: string;
}

/** The side's summary, with the largest and smallest worker's share of the tokens on a gateway side, and the steady-state tok/s when asked for. */
function summaryOf(def: ScenarioDef, w: LiveWorkload, r: SideResult) {
  const s = runSummaryOfLoad(r.load.summary);
  const steady = [...def.targets.map((t) => t.metric), ...(def.report ?? [])].includes(`extra.${STEADY_KEY}`);
  return {
    ...s,
    extra: { ...s.extra, ...(r.shares !== undefined && shareExtremes(r.shares, r.workers)), ...(steady && { [STEADY_KEY]: steadyOutputTokPerS(s.timeline, ...steadyWindow(w)) }) },
  };
}

function clusterNotes(which: string, r: SideResult): string[] {
  return [
    ...(r.kill !== undefined ? [`${which}: ${r.kill}.`] : []),
    ...(r.shares !== undefined ? [`${which} per-worker shares of the load (warm-up excluded): requests dispatched (retries included) ${formatShares(r.shares.dispatches)}; tokens streamed ${formatShares(r.shares.tokens)}; gateway retries ${r.shares.retries}.`] : []),
  ];
}

function pinningNotes(def: ScenarioDef, gpus: number | undefined): string[] {
  if (gpus === undefined) return [];
  const sides = [def.baseline, def.candidate].flatMap((p) => (p.kind === 'gateway' ? [`${p.name}: ${pinningMap(p.workers, gpus)}`] : []));
  return [`GPU pinning (--live-gpus ${gpus}): worker node i runs with CUDA_VISIBLE_DEVICES = i mod ${gpus} — ${sides.join('; ')}.`];
}

async function runSide(def: ScenarioDef, policy: PolicySetDef, c: SideContext): Promise<SideResult> {
  const ps = new ProcessSet();
  const runDir = mkdtempSync(join(tmpdir(), 'mlx-live-'));
  const signal = c.opts.signal;
  try {
    c.log(`${policy.name}: starting ${policy.kind === 'direct' ? 'mlx_lm.server' : `the gateway and ${policy.workers} worker node(s)`}`);
    const maxSequences = liveMaxSequences(def);
    const server: Server =
      policy.kind === 'direct'
        ? await startBaseline(ps, { modelDir: c.modelDir, port: c.port, ...(signal !== undefined && { signal }) })
        : await startCluster(ps, {
          modelDir: c.modelDir, modelId: c.modelId, port: c.port, workers: policy.workers, maxSequences, core: policy.gateway, runDir, runtimeEnv: runtimeEnv(def),
          ...(c.opts.gpus !== undefined && { gpus: c.opts.gpus }), ...(signal !== undefined && { signal }),
        });
    await warmUp(server, signal, policy.kind === 'gateway' ? policy.workers : 1);
    const died = new AbortController();
    let dead: ManagedProcess | undefined;
    const plan = def.live?.killWorker;
    let kill: ScheduledKill | undefined;
    const killed = (p: ManagedProcess) => kill?.killed.has(p) === true;
    for (const p of server.processes) {
      void p.exited.then(() => {
        if (p.diedUnexpectedly && dead === undefined && !killed(p)) {
          dead = p;
          died.abort();
        }
      });
    }
    const fatalWatch = setInterval(() => {
      const f = server.processes.find((p) => p.fatalLine !== undefined && !killed(p));
      if (f !== undefined && dead === undefined) {
        dead = f;
        died.abort();
      }
    }, 250);
    c.log(`${policy.name}: running the workload (${c.workload.durationMs / 1000} s)`);
    let failed = 0;
    let doneCount = 0;
    const t0 = performance.now();
    const progress = setInterval(() => c.log(`${policy.name}: ${Math.round((performance.now() - t0) / 1000)} s, ${doneCount} requests done, ${failed} failed`), 15_000);
    let result: LoadRunResult;
    const sharesBefore = policy.kind === 'gateway' ? await scrapeShares(server.baseUrl, LIVE_API_KEY) : undefined;
    if (plan !== undefined && policy.kind === 'gateway' && plan.workerIndex < policy.workers) kill = scheduleKill(server.processes.slice(0, policy.workers), plan, (m) => c.log(`${policy.name}: ${m}`));
    try {
      result = await runLoad({
        target: { name: policy.name, baseUrl: server.baseUrl, model: server.model, apiKey: LIVE_API_KEY, workers: policy.kind === 'direct' ? 1 : policy.workers },
        arrivals: arrivalsOf(c.workload, c.seed), seed: c.seed, requestTimeoutMs: c.opts.requestTimeoutMs ?? 120_000, drainMs: def.live?.drainMs ?? 60_000,
        signal: signal === undefined ? died.signal : AbortSignal.any([signal, died.signal]),
        onRequestDone: (o, n) => {
          doneCount = n;
          if (o.kind !== 'ok') failed++;
        },
      });
    } finally {
      clearInterval(progress);
      clearInterval(fatalWatch);
      kill?.cancel();
    }
    if (signal?.aborted === true) throw new LiveRunError('interrupted', `interrupted during the ${policy.name} run`);
    if (dead !== undefined) throw new LiveRunError('fault', `${dead.describeExit()} during the ${policy.name} run of ${def.name}:\n${dead.stderrTail()}`);
    const s = result.summary;
    c.log(`${policy.name}: ${s.succeeded}/${s.requests} ok, ${s.outputTokPerS.toFixed(1)} output tok/s, TTFT p95 ${s.ttftMs.p95.toFixed(0)} ms, ITL p95 ${s.itlMs.p95.toFixed(1)} ms (${server.device})`);
    const sharesAfter = policy.kind === 'gateway' ? await scrapeShares(server.baseUrl, LIVE_API_KEY) : undefined;
    const shares = sharesAfter === undefined ? undefined : sharesSince(sharesAfter, sharesBefore);
    const killNote = kill?.outcome();
    return { load: result, device: server.device, workers: policy.kind === 'gateway' ? policy.workers : 1, ...(shares !== undefined && { shares }), ...(killNote !== undefined && { kill: killNote }) };
  } finally {
    await ps.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * A few short requests before measuring (first-request compilation, the gateway seeing its workers):
 * `parallel` at a time (a side's worker count: the gateway's least-loaded choice spreads concurrent
 * ones over its nodes, so each node's runtime compiles before the load), until 2 × parallel succeeded.
 */
async function warmUp(server: Server, signal: AbortSignal | undefined, parallel = 1): Promise<void> {
  const end = Date.now() + 120_000;
  let ok = 0;
  let round = 0;
  const failedProcess = () => server.processes.find((p) => p.exit !== undefined || p.fatalLine !== undefined);
  while (ok < 2 * parallel) {
    if (signal?.aborted === true) throw new LiveRunError('interrupted', 'interrupted during warm-up');
    const dead = failedProcess();
    if (dead !== undefined) throw new LiveRunError('fault', `${dead.describeExit()} during warm-up:\n${dead.stderrTail()}`);
    const cut = new AbortController();
    const watch = setInterval(() => {
      if (failedProcess() !== undefined) cut.abort();
    }, 250);
    const outs = await Promise.all(Array.from({ length: parallel }, (_, j) => streamChat({
      url: `${server.baseUrl}/v1/chat/completions`, apiKey: LIVE_API_KEY, model: server.model, messages: [{ role: 'user', content: `warm up ${round} ${j}` }],
      maxTokens: 4, temperature: 0.7, timeoutMs: 60_000, signal: signal === undefined ? cut.signal : AbortSignal.any([signal, cut.signal]),
    }))).finally(() => clearInterval(watch));
    round++;
    ok += outs.filter((o) => o.kind === 'ok').length;
    const failed = outs.find((o) => o.kind !== 'ok');
    if (failed !== undefined) {
      if (Date.now() > end) throw new LiveRunError('fault', `warm-up requests to ${server.baseUrl} kept failing: ${failed.error ?? `HTTP ${failed.status}`}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
