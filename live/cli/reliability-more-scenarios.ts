// Two more reliability scenarios (issue 8), against real processes under the closed-loop load of
// fault-scenarios.ts; same ScenarioResult as reliability-scenarios.ts, plus the figures as numbers:
//   slow-worker    3 echo worker nodes (gRPC) behind a gateway with latency-aware routing. Phase 1:
//                  w3 turns ~4× slower mid-load; its share of the traffic drops. Phase 2: w3 stops
//                  making progress entirely (no first token, no Stats answers); the breaker's
//                  no-progress timeout cancels its requests there, they are retried on w1/w2 (0 lost)
//                  and the breaker opens.
//   nats-restart   a real `nats-server -js`, 2 echo workers heartbeating into its KV bucket, a gateway
//                  following the registry. NATS stops mid-load for a few seconds (past the records'
//                  TTL): the gateway keeps routing to the workers it knows. NATS restarts on the same
//                  port and store: the time until the gateway's view is live again (a worker registered
//                  after the restart appears and serves; a worker that stops heartbeating is removed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { METRIC } from '../gateway/metrics-names.js';
import { startNatsRegistration, type NatsRegistration, type RegistrationInfo } from '../registry/nats-registry.js';
import { freePort, startNatsServer, type NatsServer } from '../registry/nats-server.js';
import { startLoad, workerView, type RequestRecord } from './fault-scenarios.js';
import { waitFor } from '../shared/poll.js';
import { gatewayConfig, metricSum, RELIABILITY_KEY, type ScenarioResult, type ScenarioSize } from './reliability-scenarios.js';

const PROMPT = 'one two three four five six seven eight nine ten eleven twelve';
/** ~170 ms for 12 tokens; slow is ~4× that (~600 ms). */
const FAST = { tokenDelayMs: 15, firstTokenDelayMs: 5 } as const;
const SLOW = { tokenDelayMs: 45, firstTokenDelayMs: 100 } as const;
/** Time the latency-aware policy gets to observe the slow worker before its share is measured. */
const LEARN_MS = 1_000;
const BREAKER_TIMEOUT_MS = 1_000;
const NATS_HEARTBEAT_MS = 200;

/** p-quantile (0..1) of the latencies of the requests started in [fromMs, toMs); null when none. */
export function latencyQuantile(records: readonly RequestRecord[], q: number, fromMs = 0, toMs = Infinity): number | null {
  const xs = records.filter((r) => r.startMs >= fromMs && r.startMs < toMs).map((r) => r.endMs - r.startMs).sort((a, b) => a - b);
  return xs.length === 0 ? null : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
}

/** Counts a worker's breaker openings by polling the core (every 20 ms). */
function breakerWatch(gw: Gateway, id: string) {
  let trips = 0;
  let wasOpen = false;
  const timer = setInterval(() => {
    const open = workerView(gw, id)?.breaker === 'open';
    if (open && !wasOpen) trips++;
    wasOpen = open;
  }, 20);
  return { get trips() { return trips; }, stop: () => clearInterval(timer) };
}

const share = (part: number, all: number) => (all === 0 ? 0 : part / all);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export interface SlowWorkerFigures {
  /** w3's share of the requests dispatched while all were fast, once it was slow (after LEARN_MS), and while it was stuck. */
  readonly shareBefore: number;
  readonly shareSlow: number;
  readonly dispatchedToStuck: number;
  /** Requests cancelled on w3 by the no-progress timeout (each retried elsewhere). */
  readonly timedOutOnStuck: number;
  readonly breakerTripsBeforeStuck: number;
  readonly breakerTripsWhileStuck: number;
  readonly retriesWhileStuck: number;
}

export async function slowWorkerScenario(size: ScenarioSize): Promise<ScenarioResult & { figures: SlowWorkerFigures }> {
  const echoes = await Promise.all([1, 2, 3].map((i) => startEchoWorker({ id: `w${i}`, models: ['echo'], ...FAST })));
  const slow = echoes[2]!;
  // Health misses are tolerant (10 s) so that the breaker's no-progress timeout, not the heartbeat,
  // is what takes the stuck worker out.
  const gw = buildGateway({
    config: gatewayConfig(echoes.map((e) => ({ id: e.id, address: e.address })), {
      routing: { type: 'latency-aware', ewmaAlpha: 0.3 },
      breaker: { timeoutMs: BREAKER_TIMEOUT_MS, cooldownMs: 1500, halfOpenProbesMax: 2, volumeMin: 5 },
      health: { heartbeatIntervalMs: 200, missesMax: 50 },
      retry: { baseDelayMs: 5, capDelayMs: 50 },
    }),
    logger: false,
  });
  const url = await gw.start();
  const breaker = breakerWatch(gw, 'w3');
  const load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'echo', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 12, prompt: PROMPT, clientTimeoutMs: 30_000 });
  const counts = () => echoes.map((e) => e.counters.requests);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const delta = (a: number[], b: number[]) => b.map((x, i) => x - a[i]!);
  try {
    const t0 = Date.now();
    await sleep(size.warmMs);
    const c0 = counts();
    const tSlow = Date.now();
    slow.tokenDelayMs = SLOW.tokenDelayMs;
    slow.firstTokenDelayMs = SLOW.firstTokenDelayMs;
    await sleep(LEARN_MS);
    const c1 = counts();
    const tLearned = Date.now();
    await sleep(size.tailMs);
    const c2 = counts();
    const tripsBeforeStuck = breaker.trips;
    const retriesBefore = await metricSum(gw, METRIC.retries);
    const cancelsBefore = slow.counters.cancels;
    // Stuck: no first token for 10 minutes and no Stats answers (a worker that still answers Stats
    // is "busy", not "stuck", to the no-progress watchdog).
    const tStuck = Date.now();
    slow.firstTokenDelayMs = 600_000;
    slow.statsHang = true;
    const breakerOpenMs = await waitFor(() => breaker.trips > tripsBeforeStuck, 20_000);
    await sleep(size.tailMs);
    const c3 = counts();
    const tEnd = Date.now();
    const summary = await load.stop();
    const recs = load.records;
    const slowPhase = delta(c1, c2);
    const figures: SlowWorkerFigures = {
      shareBefore: share(c0[2]!, sum(c0)),
      shareSlow: share(slowPhase[2]!, sum(slowPhase)),
      dispatchedToStuck: c3[2]! - c2[2]!,
      timedOutOnStuck: slow.counters.cancels - cancelsBefore,
      breakerTripsBeforeStuck: tripsBeforeStuck,
      breakerTripsWhileStuck: breaker.trips - tripsBeforeStuck,
      retriesWhileStuck: (await metricSum(gw, METRIC.retries)) - retriesBefore,
    };
    const q = (p: number, from: number, to: number) => latencyQuantile(recs, p, from, to);
    return {
      name: 'slow-worker',
      faults: [
        `w3 of 3 turns slow mid-load (first token ${SLOW.firstTokenDelayMs} ms, ${SLOW.tokenDelayMs} ms/token instead of ${FAST.firstTokenDelayMs} and ${FAST.tokenDelayMs}); latency-aware routing (EWMA α 0.3)`,
        `then w3 stops making progress (no first token, no Stats answers); breaker no-progress timeout ${BREAKER_TIMEOUT_MS} ms`,
      ],
      load: summary,
      retries: await metricSum(gw, METRIC.retries),
      timings: {
        'allFast.p50Ms': q(0.5, t0, tSlow), 'allFast.p95Ms': q(0.95, t0, tSlow),
        'w3Slow.p50Ms': q(0.5, tLearned, tStuck), 'w3Slow.p95Ms': q(0.95, tLearned, tStuck),
        'w3Stuck.p50Ms': q(0.5, tStuck, tEnd), 'w3Stuck.p95Ms': q(0.95, tStuck, tEnd),
        breakerOpenAfterStuckMs: breakerOpenMs ?? null,
      },
      notes: [
        `w3's share of requests: ${pct(figures.shareBefore)} while all were fast (fair share 33.3 %, ${sum(c0)} requests), ${pct(figures.shareSlow)} once slow (${sum(slowPhase)} requests, measured after ${LEARN_MS} ms of learning)`,
        `while stuck: ${figures.dispatchedToStuck} requests dispatched to w3, ${figures.timedOutOnStuck} cancelled there by the no-progress timeout and retried (${figures.retriesWhileStuck} gateway retries)`,
        `breaker trips of w3: ${figures.breakerTripsBeforeStuck} while slow, ${figures.breakerTripsWhileStuck} while stuck (cooldown 1500 ms, then half-open probes that time out again)`,
        'health misses tolerated for 10 s, so the breaker timeout (not the heartbeat) takes the stuck worker out',
      ],
      figures,
    };
  } finally {
    breaker.stop();
    await load.stop();
    await gw.stop();
    for (const e of echoes) e.kill();
  }
}

function registrationInfo(e: EchoWorker): RegistrationInfo {
  return {
    id: e.id,
    address: e.address,
    status: () => ({ workerId: e.id, models: ['echo'], maxConcurrent: 64, healthy: true, draining: false, kvUsedBytes: 0, kvCapacityBytes: 1 << 30, activeSequences: 0, runtimesAlive: 1, runtimesTotal: 1 }),
    models: () => [{ id: 'echo', path: '/echo/echo', version: '1', bytes: 0, loaded: true }],
  };
}

export interface NatsRestartFigures {
  readonly outageMs: number;
  /** Requests started while NATS was down, and how many of them ended ok. */
  readonly sentDuringOutage: number;
  readonly okDuringOutage: number;
  /** Fewest workers the gateway had linked at any sample while NATS was down (2 = none forgotten). */
  readonly workersKnownDuringOutageMin: number;
  /** From NATS ready again: the old workers' heartbeats written, a worker registered after the restart linked and serving, a worker whose heartbeats stop removed (from the pause). */
  readonly heartbeatsResumedMs: number | null;
  readonly newWorkerLinkedMs: number | null;
  readonly newWorkerServingMs: number | null;
  readonly staleWorkerRemovedMs: number | null;
}

export async function natsRestartScenario(size: ScenarioSize, opts: { outageMs?: number } = {}): Promise<ScenarioResult & { figures: NatsRestartFigures }> {
  const outageTargetMs = opts.outageMs ?? Math.max(2_000, size.tailMs);
  const bucket = 'reliability_nats';
  const storeDir = mkdtempSync(join(tmpdir(), 'rel-nats-'));
  const port = await freePort();
  let nats: NatsServer | undefined = await startNatsServer({ port, storeDir });
  const natsUrl = nats.url;
  const echoes: EchoWorker[] = [];
  const regs: NatsRegistration[] = [];
  let regErrors = 0;
  const register = async (e: EchoWorker) => {
    const r = await startNatsRegistration(registrationInfo(e), natsUrl, { heartbeatIntervalMs: NATS_HEARTBEAT_MS, bucket, onError: () => regErrors++ });
    regs.push(r);
    return r;
  };
  let gw: Gateway | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    for (const id of ['w1', 'w2']) {
      const e = await startEchoWorker({ id, models: ['echo'], ...FAST });
      echoes.push(e);
      await register(e);
    }
    gw = buildGateway({
      config: gatewayConfig({ registry: { type: 'nats', url: natsUrl, bucket } }, { health: { heartbeatIntervalMs: 200, missesMax: 3 } }),
      logger: false,
    });
    const g = gw;
    const url = await g.start();
    const linked = await waitFor(() => g.links.has('w1') && g.links.has('w2') && g.core.readyModels(g.driver.nowMs()).includes('echo'), 20_000);
    if (linked === undefined) throw new Error('nats-restart: the gateway did not link w1 and w2 from the registry');
    load = startLoad({ url, apiKey: RELIABILITY_KEY, model: 'echo', concurrency: size.concurrency, streamRatio: 0.5, maxTokens: 12, prompt: PROMPT, clientTimeoutMs: 30_000 });
    await sleep(size.warmMs);

    const tDown = Date.now();
    await nats.stop();
    nats = undefined;
    let knownMin = g.links.size;
    while (Date.now() - tDown < outageTargetMs) {
      knownMin = Math.min(knownMin, g.links.size);
      await sleep(50);
    }
    const beatsAtRestart = regs.map((r) => r.beats);
    nats = await startNatsServer({ port, storeDir });
    const tUp = Date.now();
    const since = (ms: number | undefined) => (ms === undefined ? null : Date.now() - tUp);

    // Resync: heartbeats resume, and a worker registered after the restart appears and serves.
    const [heartbeatsResumedMs, newWorker] = await Promise.all([
      waitFor(() => regs.slice(0, 2).every((r, i) => r.beats > beatsAtRestart[i]!), 20_000, 10).then(since),
      (async () => {
        const e3 = await startEchoWorker({ id: 'w3', models: ['echo'], ...FAST });
        echoes.push(e3);
        await register(e3);
        const linkedMs = since(await waitFor(() => g.links.has('w3'), 20_000, 10));
        const servingMs = since(await waitFor(() => e3.counters.requests > 0, 20_000, 10));
        return { linkedMs, servingMs };
      })(),
    ]);
    // The watch is live: w2 stops heartbeating (its server stays up) and is removed.
    const tPause = Date.now();
    regs[1]!.pause();
    const removed = await waitFor(() => !g.links.has('w2'), 20_000, 10);
    const staleWorkerRemovedMs = removed === undefined ? null : Date.now() - tPause;
    await sleep(size.warmMs);
    const summary = await load.stop();
    const during = load.records.filter((r) => r.startMs >= tDown && r.startMs < tUp);
    const figures: NatsRestartFigures = {
      outageMs: tUp - tDown,
      sentDuringOutage: during.length,
      okDuringOutage: during.filter((r) => r.outcome === 'ok').length,
      workersKnownDuringOutageMin: knownMin,
      heartbeatsResumedMs,
      newWorkerLinkedMs: newWorker.linkedMs,
      newWorkerServingMs: newWorker.servingMs,
      staleWorkerRemovedMs,
    };
    return {
      name: 'nats-restart',
      faults: [
        `nats-server stopped mid-load for ${figures.outageMs} ms (records' TTL ${6 * NATS_HEARTBEAT_MS} ms, heartbeats every ${NATS_HEARTBEAT_MS} ms), restarted on the same port and JetStream store`,
        'after the restart: w3 registers; w2 stops heartbeating (its server stays up)',
      ],
      load: summary,
      retries: await metricSum(g, METRIC.retries),
      timings: {
        natsOutageMs: figures.outageMs,
        heartbeatsResumedAfterRestartMs: heartbeatsResumedMs,
        newWorkerLinkedAfterRestartMs: newWorker.linkedMs,
        newWorkerServingAfterRestartMs: newWorker.servingMs,
        staleWorkerRemovedAfterPauseMs: staleWorkerRemovedMs,
      },
      notes: [
        `while NATS was down: ${figures.okDuringOutage}/${figures.sentDuringOutage} requests ok, the gateway kept ${knownMin} of 2 workers linked throughout`,
        `registry view live again: w3 (registered after the restart) linked ${newWorker.linkedMs ?? '—'} ms and serving ${newWorker.servingMs ?? '—'} ms after NATS was ready; w2 removed ${staleWorkerRemovedMs ?? '—'} ms after its heartbeats stopped (3 missed × ${NATS_HEARTBEAT_MS} ms)`,
        `heartbeats that could not be written while NATS was down: ${regErrors}`,
        'streams under way on w2 when it was removed end with an error event (failed clearly); requests that had delivered nothing are retried',
      ],
      figures,
    };
  } finally {
    await load?.stop();
    await gw?.stop().catch(() => undefined);
    // Deregister (bounded: with NATS down a delete would wait for its timeout).
    await Promise.race([Promise.all(regs.map((r) => r.stop().catch(() => undefined))), sleep(3_000)]);
    for (const e of echoes) e.kill();
    await nats?.stop().catch(() => undefined);
    rmSync(storeDir, { recursive: true, force: true });
  }
}
