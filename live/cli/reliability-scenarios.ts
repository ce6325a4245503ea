// The reliability scenarios, each against real processes under a closed-loop load (fault-scenarios.ts):
//   worker-kill      3 echo worker nodes (gRPC servers); one is killed mid-load (every stream on it
//                    breaks), its breaker opens, traffic moves; it comes back on the same address and
//                    the breaker closes again after its cooldown and half-open probes.
//   runtime-kill     a real worker node with 2 python runtimes (tiny model); one runtime is SIGKILLed
//                    mid-load, the node re-runs its requests that had sent no token and restarts it.
//   rolling-restart  3 echo workers restarted one at a time through the gateway's RollingRestarter
//                    (drain, finish in-flight, restart, wait for ready) with minHealthyWorkers 2.
//   overload         1 echo worker with maxConcurrent 2 and a short queue: excess load is shed with
//                    503/429 + Retry-After at once (never a client timeout), identical deterministic
//                    requests are served from the response cache.
// Sizes (load duration, concurrency) come from the caller: small in tests, larger in the report.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEchoWorker, type EchoWorker, type EchoWorkerOptions } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { METRIC } from '../gateway/metrics-names.js';
import type { RestartWorkerHook } from '../gateway/rolling-restart.js';
import { resolveLiveConfig } from '../shared/config.js';
import { ensureModel } from '../shared/model.js';
import { startWorker, type Worker } from '../worker/worker.js';
import { startLoad, summarize, workerView, type LoadSummary } from './fault-scenarios.js';
import { waitFor } from '../shared/poll.js';

export const RELIABILITY_KEY = 'sk-reliability-0001';
export const RELIABILITY_ADMIN_KEY = 'sk-reliability-admin-01';

export interface ScenarioSize {
  /** Load before the fault, and after recovery. */
  readonly warmMs: number;
  readonly tailMs: number;
  readonly concurrency: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly faults: string[];
  readonly load: LoadSummary;
  readonly retries: number;
  /** Named durations in ms (null: did not happen within its bound). */
  readonly timings: Record<string, number | null>;
  readonly notes: string[];
  /** Processes or sockets left behind by the scenario (must be 0); absent where not measured. */
  readonly leaked?: number;
}

const BASE_CORE = {
  health: { heartbeatIntervalMs: 200, missesMax: 3 },
  batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 },
  breaker: { cooldownMs: 1500, halfOpenProbesMax: 2, volumeMin: 5 },
};

/** The scenarios' gateway: a static list of workers, or `{ registry }` to follow a registry. */
export function gatewayConfig(source: readonly { id: string; address: string }[] | { readonly registry: Record<string, unknown> }, core: Record<string, unknown> = {}, limits: Record<string, unknown> = {}) {
  return resolveLiveConfig({
    listen: { host: '127.0.0.1', port: 0 },
    auth: { apiKeys: [RELIABILITY_KEY], adminKey: RELIABILITY_ADMIN_KEY },
    limits: { requestTimeoutMs: 30_000, shutdownTimeoutMs: 2_000, ...limits },
    grpc: { reconnectBaseMs: 50, reconnectMaxMs: 300, unaryTimeoutMs: 1_000 },
    ...('registry' in source ? { registry: source.registry } : { workers: source }),
    logLevel: 'silent',
    core: { ...BASE_CORE, ...core },
  });
}

/** The sum of a metric's samples, optionally only those whose labels include `labelMatch` (e.g. worker="w2"). */
export async function metricSum(gw: Gateway, name: string, labelMatch?: string): Promise<number> {
  const text = await gw.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+]+)$/.exec(line);
    if (m !== null && m[1] === name && (labelMatch === undefined || (m[2] ?? '').includes(labelMatch))) sum += Number(m[3]);
  }
  return sum;
}

/** An echo worker on a fixed address, restartable in place. */
async function echoAt(id: string, address: string, o: Partial<EchoWorkerOptions>): Promise<EchoWorker> {
  return startEchoWorker({ id, address, models: ['echo'], ...o });
}

const ECHO_SLOW = { tokenDelayMs: 15, firstTokenDelayMs: 5 } as const;
const PROMPT = 'one two three four five six seven eight nine ten eleven twelve';

export async function workerKillScenario(size: ScenarioSize): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rel-kill-'));
  const addr = (i: number) => `unix://${join(dir, `w${i}.sock`)}`;
  const echoes = await Promise.all([1, 2, 3].map((i) => echoAt(`w${i}`, addr(i), ECHO_SLOW)));
  const gw = buildGateway({ config: gatewayConfig(echoes.map((e) => ({ id: e.id, address: e.address }))), logger: false });
  const url = await gw.start();
  const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'echo', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 12, prompt: PROMPT, clientTimeoutMs: 30_000 });
  let revived: EchoWorker | undefined;
  try {
    await sleep(size.warmMs);
    const victim = echoes[1]!;
    const tKill = Date.now();
    victim.kill();
    const breakerOpenMs = await waitFor(() => workerView(gw, 'w2')?.breaker === 'open', 20_000);
    const unhealthyMs = Date.now() - tKill;
    await sleep(300);
    revived = await echoAt('w2', addr(2), ECHO_SLOW);
    const recoveredMs = await waitFor(() => {
      const v = workerView(gw, 'w2');
      return v !== undefined && v.breaker === 'closed' && v.healthy && revived!.counters.requests > 0;
    }, 30_000);
    await sleep(size.tailMs);
    const summary = await load.stop();
    return {
      name: 'worker-kill',
      faults: ['worker node w2 (gRPC server) killed mid-load: every stream on it broken', 'w2 restarted on the same address'],
      load: summary,
      retries: await metricSum(gw, METRIC.retries),
      timings: { breakerOpenAfterKillMs: breakerOpenMs ?? null, outOfRoutingAfterKillMs: unhealthyMs, breakerClosedAfterRestartMs: recoveredMs ?? null, totalOutageMs: recoveredMs === undefined ? null : Date.now() - tKill - size.tailMs },
      notes: [`requests served by w2 after its restart: ${revived.counters.requests}`, 'breaker cooldown 1500 ms, 2 half-open probes'],
    };
  } finally {
    await load.stop();
    await gw.stop();
    for (const e of echoes) e.kill();
    revived?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runtimeKillScenario(size: ScenarioSize): Promise<ScenarioResult> {
  const model = ensureModel('tiny');
  const dir = mkdtempSync(join(tmpdir(), 'rel-rt-'));
  let worker: Worker | undefined;
  let gw: Gateway | undefined;
  try {
    worker = await startWorker({
      id: 'w1', models: [{ id: 'tiny', path: model, runtimes: 2 }], maxConcurrent: 16, kvCapacityBytes: 512 * 100_000,
      restart: { baseMs: 50, maxMs: 1000 },
    }, { address: `unix://${join(dir, 'w1.sock')}` });
    gw = buildGateway({ config: gatewayConfig([{ id: 'w1', address: worker.address }], { health: { heartbeatIntervalMs: 500, missesMax: 6 } }, { requestTimeoutMs: 60_000 }), logger: false });
    const url = await gw.start();
    const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'tiny', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 24, prompt: 'Tell me a long story about the sea.', clientTimeoutMs: 60_000 });
    try {
      await sleep(size.warmMs);
      const slot = worker.node.models.get('tiny')!.pool.slots[0]!;
      const startsBefore = slot.starts;
      const lostBefore = worker.node.counters.runtimeLost;
      const tKill = Date.now();
      process.kill(slot.proc!.pid!, 'SIGKILL');
      const restartedMs = await waitFor(() => slot.starts > startsBefore && slot.state === 'alive', 60_000);
      await sleep(size.tailMs);
      const summary = await load.stop();
      return {
        name: 'runtime-kill',
        faults: ['python runtime 1 of 2 of worker w1 SIGKILLed mid-load', 'the worker node restarts it (backoff 50 ms)'],
        load: summary,
        retries: await metricSum(gw, METRIC.retries),
        timings: { runtimeBackAfterKillMs: restartedMs ?? null, sinceKillMs: Date.now() - tKill },
        notes: [`lost before their first token, reported by the worker node (runtime_lost, retried by the gateway on the other runtime): ${worker.node.counters.runtimeLost - lostBefore}`, `gateway retries: ${await metricSum(gw, METRIC.retries)}`],
      };
    } finally {
      await load.stop();
    }
  } finally {
    await gw?.stop();
    await worker?.stop(1_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function rollingRestartScenario(size: ScenarioSize, opts: { workers?: number; minHealthyWorkers?: number } = {}): Promise<ScenarioResult> {
  const n = opts.workers ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'rel-roll-'));
  const addr = (id: string) => `unix://${join(dir, `${id}.sock`)}`;
  const echoes = new Map<string, EchoWorker>();
  for (let i = 1; i <= n; i++) echoes.set(`w${i}`, await echoAt(`w${i}`, addr(`w${i}`), ECHO_SLOW));
  let restarts = 0;
  const restartWorker: RestartWorkerHook = async (id) => {
    echoes.get(id)!.kill();
    echoes.set(id, await echoAt(id, addr(id), ECHO_SLOW));
    restarts++;
  };
  const gw = buildGateway({ config: gatewayConfig([...echoes.values()].map((e) => ({ id: e.id, address: e.address }))), logger: false, restartWorker });
  const url = await gw.start();
  const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'echo', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 12, prompt: PROMPT, clientTimeoutMs: 30_000 });
  try {
    await sleep(size.warmMs);
    const t0 = Date.now();
    const res = await fetch(`${url}/admin/restart?rolling=true&wait=true`, {
      method: 'POST', headers: { authorization: `Bearer ${RELIABILITY_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ minHealthyWorkers: opts.minHealthyWorkers ?? 2, waitHealthyMs: 5_000, drainTimeoutMs: 10_000, readyTimeoutMs: 20_000 }),
    });
    if (res.status !== 200) throw new Error(`POST /admin/restart: ${res.status} ${await res.text()}`);
    const status = (await res.json()) as { state: string; error: string | null; done: { id: string; drainMs: number; restartMs: number; readyMs: number; cutInFlight: number }[] };
    const totalMs = Date.now() - t0;
    await sleep(size.tailMs);
    const summary = await load.stop();
    const timings: Record<string, number | null> = { rollingRestartTotalMs: totalMs };
    for (const d of status.done) timings[`${d.id}.drainRestartReadyMs`] = d.drainMs + d.restartMs + d.readyMs;
    return {
      name: 'rolling-restart',
      faults: [`rolling restart of ${n} workers via POST /admin/restart?rolling=true (minHealthyWorkers ${opts.minHealthyWorkers ?? 2})`],
      load: summary,
      retries: await metricSum(gw, METRIC.retries),
      timings,
      notes: [`state: ${status.state}${status.error !== null ? ` (${status.error})` : ''}`, `workers restarted: ${restarts}`, `in-flight cut at a drain timeout: ${status.done.reduce((s, d) => s + d.cutInFlight, 0)}`],
    };
  } finally {
    await load.stop();
    await gw.stop();
    for (const e of echoes.values()) e.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function overloadScenario(size: ScenarioSize): Promise<ScenarioResult> {
  const echo = await startEchoWorker({ id: 'w1', models: ['echo'], tokenDelayMs: 20, firstTokenDelayMs: 5, maxConcurrent: 2 });
  const gw = buildGateway({
    config: gatewayConfig([{ id: 'w1', address: echo.address }], { admission: { maxConcurrentPerWorker: 2, queueMax: 4, queueTimeoutMs: 400 } }),
    logger: false,
  });
  const url = await gw.start();
  // Overload: many clients with distinct prompts (no sharing) …
  const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'echo', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 12, prompt: PROMPT, clientTimeoutMs: 30_000 });
  const retryAfter: number[] = [];
  let cached = 0;
  let cacheTried = 0;
  try {
    // … plus a deterministic request (temperature 0) asked again and again: after the first answer
    // it comes from the response cache even while the worker is saturated.
    const body = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'the cached answer' }], temperature: 0, max_tokens: 4 });
    const headers = { authorization: `Bearer ${RELIABILITY_KEY}`, 'content-type': 'application/json' };
    await waitFor(async () => (await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body })).status === 200, 20_000, 50);
    const end = Date.now() + size.warmMs + size.tailMs;
    while (Date.now() < end) {
      const hitsBefore = await metricSum(gw, METRIC.cacheHits);
      const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body });
      await r.arrayBuffer();
      cacheTried++;
      if (r.status === 200 && (await metricSum(gw, METRIC.cacheHits)) > hitsBefore) cached++;
      await sleep(50);
    }
    const summary = await load.stop();
    for (const r of load.records) if (r.status === 503 || r.status === 429) retryAfter.push(r.retryAfterS ?? -1);
    const shed = Object.entries(summary.byCode).filter(([c]) => ['queue_full', 'queue_timeout', 'overloaded', 'rate_limited'].includes(c)).reduce((s, [, n]) => s + n, 0);
    return {
      name: 'overload',
      faults: [`${size.concurrency} closed-loop clients against 1 worker with maxConcurrent 2, queueMax 4, queueTimeoutMs 400`],
      load: summary,
      retries: await metricSum(gw, METRIC.retries),
      timings: { slowestShedMs: Math.max(0, ...load.records.filter((r) => r.status === 503 || r.status === 429).map((r) => r.endMs - r.startMs)) },
      notes: [`shed with 429/503: ${shed}, of which with a Retry-After header: ${retryAfter.filter((s) => s >= 1).length}`, `client timeouts: ${summary.hangs}`, `deterministic repeats served from the response cache: ${cached}/${cacheTried}`],
    };
  } finally {
    await load.stop();
    await gw.stop();
    echo.kill();
  }
}

export { summarize };
