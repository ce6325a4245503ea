// Simulator throughput benchmark (npm run bench:sim): one simulated hour of 100 workers (M3 Ultra,
// Llama-3.1-8B 4-bit, MLX) under a 200 RPS Poisson workload, driven through the gateway core (default
// policies: session affinity, micro-batching, caching, breaker, retries, governed KV admission).
// The load is one the cluster sustains: prompts ~256 and outputs ~80 tokens put the offered load at
// ~79 % of what the cluster serves at full batch (offeredLoad below), so the queue stays short and the
// figure measures a steady state, not a queue that only grows (outputs ~128 saturate it: ρ ≈ 0.99).
// Prints events and simulated requests per wall-clock second. Not a test: no timed assertion.
// Options: --sim-seconds N (3600), --workers N (100), --rps N (200), --prompt N (256), --output N (80),
//          --seed S, --repeat N (1: runs the same simulation N times, prints the median, and checks that
//          every run's summary is byte-identical).
import { createHash } from 'node:crypto';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { openLoopArrivals } from '../cluster/arrivals.js';
import { SimCluster } from '../cluster/cluster.js';
import { createLatencyModel, type LatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import { GovernedAdmission } from '../worker/governed-admission.js';
import { OpenLoopWorkload } from '../workload/open-loop.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const simSeconds = Number(arg('sim-seconds', '3600'));
const workers = Number(arg('workers', '100'));
const rps = Number(arg('rps', '200'));
const promptTokens = Number(arg('prompt', '256'));
const outputTokens = Number(arg('output', '80'));
const seed = arg('seed', 'bench-sim');
const repeat = Math.max(1, Number(arg('repeat', '1')));
const MAX_SEQUENCES = 32;

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const config = resolveGatewayConfig({});

/**
 * Offered load ρ: the worker time the workload asks for per second over the worker time there is,
 * with decode at full batch (the cluster's best rate, as in the capacity planner's lower bound):
 *   ρ = rps × (prefillMs(prompt) + output × stepMs(maxSequences, ctx) / maxSequences) / (1000 × workers),
 *   ctx = maxSequences × (prompt + output / 2).
 * Under continuous batching the busy fraction is no measure of headroom (a worker with one sequence is
 * busy); ρ < 1 is the condition for a queue that does not grow.
 */
function offeredLoad(lat: LatencyModel): number {
  const stepMs = lat.decodeStepMs(MAX_SEQUENCES, MAX_SEQUENCES * (promptTokens + outputTokens / 2));
  return (rps * (lat.prefillMs(promptTokens, 0) + (outputTokens * stepMs) / MAX_SEQUENCES)) / (1000 * workers);
}

function runOnce(): { wallS: number; cpuS: number; steps: number; endMs: number; summary: ReturnType<SimMetrics['summarize']> } {
  const workload = new OpenLoopWorkload({
    type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps }, arrival: { type: 'poisson' }, durationMs: simSeconds * 1000,
    promptTokens: { type: 'lognormal', meanTokens: promptTokens, cv: 1, minTokens: 16, maxTokens: 8192 },
    outputTokens: { type: 'lognormal', meanTokens: outputTokens, cv: 1, minTokens: 1, maxTokens: 2048 },
  }, seed);
  const metrics = new SimMetrics({ intervalMs: 60_000 });
  const cluster = new SimCluster({
    mode: { type: 'gateway', config },
    model: 'llama-3.1-8b',
    seed,
    maxSteps: 500_000_000,
    workers: Array.from({ length: workers }, (_, i) => ({
      id: `w${String(i).padStart(3, '0')}`, latency, maxSequences: MAX_SEQUENCES, maxQueuedSequences: 1024, startWarm: true,
      memory: new GovernedAdmission(latency.kvCapacityBytes, latency.kvBytesPerToken, config.memory.watermarkFraction, config.memory.idleSessionsMax),
    })),
  }, openLoopArrivals(workload), metrics);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = cluster.run();
  const c = process.cpuUsage(c0);
  const wallS = (performance.now() - t0) / 1000;
  return { wallS, cpuS: (c.user + c.system) / 1e6, steps: r.steps, endMs: r.endMs, summary: metrics.summarize(r.endMs, r.workers.map((w) => ({ id: w.id, stats: w.stats }))) };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

console.log('sim benchmark — the gateway core (default policies) driving modelled workers');
console.log(`cluster: ${workers} × ${latency.id}, maxSequences ${MAX_SEQUENCES}; workload: ${rps} RPS Poisson, prompt ~${promptTokens}, output ~${outputTokens} tokens (lognormal, cv 1), seed ${seed}`);
console.log(`offered load ρ = ${offeredLoad(latency).toFixed(2)} of the cluster's full-batch capacity`);
const walls: number[] = [];
let first: { json: string; steps: number; endMs: number; summary: ReturnType<SimMetrics['summarize']> } | undefined;
for (let k = 0; k < repeat; k++) {
  const r = runOnce();
  const json = JSON.stringify(r.summary);
  if (first === undefined) first = { json, steps: r.steps, endMs: r.endMs, summary: r.summary };
  else if (json !== first.json || r.steps !== first.steps) throw new Error(`bench: run ${k + 1} differs from run 1 (same seed): the simulator is not deterministic`);
  walls.push(r.wallS);
  console.log(`run ${k + 1}: wall ${r.wallS.toFixed(2)} s (cpu ${r.cpuS.toFixed(2)} s), ${(r.steps / r.wallS / 1e6).toFixed(3)} M events / wall s, ${Math.round(r.summary.requests.arrived / r.wallS)} simulated requests / wall s`);
}
const { steps, endMs, summary: s, json } = first!;
const wallS = median(walls);
const w = s.workers;
const meanBatch = w.perWorker.reduce((a, x) => a + x.meanBatch, 0) / workers;
console.log(`simulated: ${simSeconds} s of arrivals (drained at ${(endMs / 1000).toFixed(1)} s), ${s.requests.arrived} requests, ${steps} events`);
console.log(`median of ${repeat}: wall ${wallS.toFixed(2)} s  →  ${Math.round(s.requests.arrived / wallS)} simulated requests / wall s, ${(steps / wallS / 1e6).toFixed(3)} M events / wall s`);
console.log(`load: busy ${(w.utilisation.mean * 100).toFixed(1)} % of the time, mean batch ${meanBatch.toFixed(2)} of ${MAX_SEQUENCES} while busy; queue wait p50 ${s.latencyMs.queue_wait_ms.p50} ms p95 ${s.latencyMs.queue_wait_ms.p95} ms`);
console.log(`results: success ${s.requests.successRate}, TTFT p50 ${s.latencyMs.ttft_ms.p50} ms p95 ${s.latencyMs.ttft_ms.p95} ms, ITL p50 ${s.latencyMs.itl_ms.p50} ms p99 ${s.latencyMs.itl_ms.p99} ms, ${s.throughput.outputTokensPerSec} output tok/s`);
// The digest of the run's summary: equal before and after an optimisation, or the optimisation changed a result.
console.log(`summary sha256 ${createHash('sha256').update(json).digest('hex').slice(0, 16)} (${steps} events)`);
