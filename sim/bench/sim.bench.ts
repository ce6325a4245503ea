// Simulator throughput benchmark (npm run bench:sim): one simulated hour of 100 workers (M3 Ultra,
// Llama-3.1-8B 4-bit, MLX) under a 200 RPS Poisson workload, driven through the gateway core (default
// policies: session affinity, micro-batching, caching, breaker, retries, governed KV admission).
// Prints simulated requests per wall-clock second and the wall time. Not a test: no timed assertion.
// Options: --sim-seconds N (default 3600), --workers N (100), --rps N (200), --seed S.
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { openLoopArrivals } from '../cluster/arrivals.js';
import { SimCluster } from '../cluster/cluster.js';
import { createLatencyModel } from '../latency/latency-model.js';
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
const seed = arg('seed', 'bench-sim');

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const config = resolveGatewayConfig({});
const workload = new OpenLoopWorkload({
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps }, arrival: { type: 'poisson' }, durationMs: simSeconds * 1000,
  promptTokens: { type: 'lognormal', meanTokens: 256, cv: 1, minTokens: 16, maxTokens: 8192 },
  outputTokens: { type: 'lognormal', meanTokens: 128, cv: 1, minTokens: 1, maxTokens: 2048 },
}, seed);
const metrics = new SimMetrics({ intervalMs: 60_000 });
const cluster = new SimCluster({
  mode: { type: 'gateway', config },
  model: 'llama-3.1-8b',
  seed,
  maxSteps: 500_000_000,
  workers: Array.from({ length: workers }, (_, i) => ({
    id: `w${String(i).padStart(3, '0')}`, latency, maxSequences: 32, maxQueuedSequences: 1024, startWarm: true,
    memory: new GovernedAdmission(latency.kvCapacityBytes, latency.kvBytesPerToken, config.memory.watermarkFraction, config.memory.idleSessionsMax),
  })),
}, openLoopArrivals(workload), metrics);

const t0 = performance.now();
const r = cluster.run();
const wallS = (performance.now() - t0) / 1000;
const s = metrics.summarize(r.endMs, r.workers.map((w) => ({ id: w.id, stats: w.stats })));

console.log('sim benchmark — the gateway core (default policies) driving modelled workers');
console.log(`cluster: ${workers} × ${latency.id}, maxSequences 32; workload: ${rps} RPS Poisson, prompt ~256, output ~128 tokens (lognormal, cv 1), seed ${seed}`);
console.log(`simulated: ${simSeconds} s of arrivals (drained at ${(r.endMs / 1000).toFixed(1)} s), ${s.requests.arrived} requests, ${r.steps} events`);
console.log(`wall time: ${wallS.toFixed(2)} s  →  ${Math.round(s.requests.arrived / wallS)} simulated requests / wall s, ${(r.steps / wallS / 1e6).toFixed(2)} M events / wall s`);
console.log(`results: success ${s.requests.successRate}, TTFT p50 ${s.latencyMs.ttft_ms.p50} ms p95 ${s.latencyMs.ttft_ms.p95} ms, ITL p50 ${s.latencyMs.itl_ms.p50} ms p99 ${s.latencyMs.itl_ms.p99} ms, ${s.throughput.outputTokensPerSec} output tok/s, mean batch ${(s.workers.perWorker.reduce((a, w) => a + w.meanBatch, 0) / workers).toFixed(2)}`);
