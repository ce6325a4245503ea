// Gateway benchmark: autocannon against (a) bare Fastify returning the same body and (b) the gateway
// with an echo worker behind it, in the same run, at saturation and at a light fixed rate.
//
//   npm run bench:gateway            (BENCH_DURATION_S=5 by default)
//   env: BENCH_REPEAT (repetitions of the whole sequence, medians at the end; default 1),
//   BENCH_WINDOW_MS (gateway micro-batching window, default 1), BENCH_DISPATCH_WHEN_IDLE=0 (the window
//   without Nagle's rule, as before issue 16: for before/after runs), BENCH_ONLY=<substring of a run
//   name>, BENCH_CPU_PROF_DIR=<dir> (CPU-profile the gateway process)
//
// Every process is separate: the load generator (this process), bare Fastify, the gateway and the
// echo worker, so each event loop is measured alone (the machine's cores are shared, which the
// figures reflect). Worker-path runs use unique prompts (a counter in each body, set per request by
// autocannon's setupRequest) so every request goes through the core to the worker; the cache-hit run
// repeats one prompt. Latencies are
// taken from autocannon's per-response times (float ms), not its integer-ms histogram.
//
// The light load runs twice: with autocannon's `overallRate` (which sends each second's requests as a
// closed-loop burst over its 16 connections, so its latencies are those of 16 queued requests), and
// paced (paced-load.ts: one request every 1/rate s, open loop, latency from the instant it was due).
// The latency aim is judged on the paced run, the load it describes.
//
// Aims (issue 16): gateway throughput ≥ 0.6× bare Fastify, ≤ 200 µs gateway CPU per request; added
// latency at 1,000 req/s p50 < 0.5 ms, p99 < 2 ms. Profiles and figures: PROFILE.md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { cpuSeconds, median, percentile, spawnReady, type Child } from './bench-support.js';
import { pacedLoad } from './paced-load.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
/** Runs of the whole sequence in one invocation; the summary gives the medians of the derived figures. */
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const WARMUP_S = 2;
const CONNECTIONS_SATURATION = 64;
const CONNECTIONS_LIGHT = 16;
const LIGHT_RATE = 1000;
/** Open connections at most for the paced (open-loop) light runs. */
const PACED_CONNECTIONS_MAX = 256;
const API_KEY = 'sk-bench-key-0001';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface RunResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly bad: number;
  /** CPU µs per answered request, per serving process (the gateway row: gateway + worker). */
  cpuUsPerReq?: string;
  /** CPU µs per answered request of this process (autocannon, the load generator). */
  loadGenUsPerReq?: number;
}

interface LoadOptions { body: () => string; connections: number; durationS: number; rate?: number; paced?: boolean; headers?: Record<string, string> }

function load(url: string, opts: LoadOptions): Promise<RunResult> {
  if (opts.paced === true) {
    return pacedLoad({
      url, path: '/v1/chat/completions', body: opts.body, ratePerS: opts.rate!, durationS: opts.durationS, connectionsMax: PACED_CONNECTIONS_MAX,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...opts.headers },
    });
  }
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const inst = autocannon({
      url: `${url}/v1/chat/completions`, connections: opts.connections, duration: opts.durationS,
      requests: [{ method: 'POST', path: '/v1/chat/completions', setupRequest: (req) => ({ ...req, body: opts.body() }) }],
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...opts.headers }, timeout: 10,
      ...(opts.rate !== undefined && { overallRate: opts.rate }),
    }, (err: Error | null, r: Result) => {
      if (err !== null) return reject(err);
      const sorted = Float64Array.from(lat).sort();
      resolve({ rps: r['2xx'] / r.duration, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), ok: r['2xx'], bad: r.non2xx + r.errors + r.timeouts });
    });
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) lat.push(ms);
    });
  });
}

let promptSeq = 0;
const runId = process.hrtime.bigint().toString(36);
const body = (unique: boolean) => () => JSON.stringify({
  model: 'echo', temperature: 0, max_tokens: 16,
  messages: [{ role: 'user', content: unique ? `benchmark prompt ${runId} number ${promptSeq++} with a few more words` : 'benchmark prompt that is always the same' }],
});

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const children: Child[] = [];
  try {
    const echo = await spawnReady(here('../echo/main.ts'), ['--id', 'echo-1', '--address', `unix://${join(dir, 'echo.sock')}`, '--max-concurrent', '4096']);
    children.push(echo);
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [API_KEY] },
      logLevel: 'warn',
      workers: [{ id: 'echo-1', address: echo.url }],
      core: {
        batching: { type: 'micro', windowMs: Number(process.env.BENCH_WINDOW_MS ?? 1), maxBatchSize: 64, dispatchWhenIdle: process.env.BENCH_DISPATCH_WHEN_IDLE !== '0' },
        admission: { maxConcurrentPerWorker: 4096 },
      },
    }));
    const gateway = await spawnReady(here('../gateway/main.ts'), ['--config', configPath]);
    children.push(gateway);
    const bare = await spawnReady(here('./bare-server.ts'), []);
    children.push(bare);

    const only = process.env.BENCH_ONLY;
    const pad = (x: string, n: number) => x.padEnd(n);
    const num = (x: number, d = 0) => x.toFixed(d).padStart(10);
    /** CPU µs per request of the first serving process of a row (the gateway, or bare Fastify). */
    const firstCpu = (r: RunResult) => Number(r.cpuUsPerReq?.split(' + ')[0] ?? NaN);
    const summaries: Record<string, number>[] = [];
    process.stderr.write(`gateway bench: ${DURATION_S} s per run (+${WARMUP_S} s warmup), ${CONNECTIONS_SATURATION} connections at saturation, ${LIGHT_RATE} req/s light, ${REPEAT} repetition(s)\n`);
    for (let rep = 1; rep <= REPEAT; rep++) {
      const rows: [string, RunResult][] = [];
      const run = async (name: string, url: string, o: LoadOptions) => {
        if (only !== undefined && !name.includes(only)) return { rps: NaN, p50: NaN, p99: NaN, ok: 0, bad: 0 };
        await load(url, { ...o, durationS: WARMUP_S });
        const procs = url === bare.url ? [bare] : [gateway, echo];
        const before = procs.map((c) => cpuSeconds(c.proc.pid));
        const loadGenBefore = cpuSeconds(process.pid);
        const r = await load(url, o);
        r.loadGenUsPerReq = ((cpuSeconds(process.pid) - loadGenBefore) * 1e6) / Math.max(1, r.ok);
        r.cpuUsPerReq = procs.map((c, i) => ((cpuSeconds(c.proc.pid) - before[i]!) * 1e6 / Math.max(1, r.ok)).toFixed(0)).join(' + ');
        rows.push([name, r]);
        process.stderr.write(`  ${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms\n`);
        return r;
      };
      const bareSat = await run('bare Fastify, saturation', bare.url, { body: body(true), connections: CONNECTIONS_SATURATION, durationS: DURATION_S });
      const gwSat = await run('gateway → echo worker, saturation (unique prompts)', gateway.url, { body: body(true), connections: CONNECTIONS_SATURATION, durationS: DURATION_S });
      const gwHit = await run('gateway, cache hits, saturation', gateway.url, { body: body(false), connections: CONNECTIONS_SATURATION, durationS: DURATION_S });
      const bareLight = await run(`bare Fastify, ${LIGHT_RATE} req/s`, bare.url, { body: body(true), connections: CONNECTIONS_LIGHT, durationS: DURATION_S, rate: LIGHT_RATE });
      const gwLight = await run(`gateway → echo worker, ${LIGHT_RATE} req/s (unique prompts)`, gateway.url, { body: body(true), connections: CONNECTIONS_LIGHT, durationS: DURATION_S, rate: LIGHT_RATE });
      const barePaced = await run(`bare Fastify, ${LIGHT_RATE} req/s paced`, bare.url, { body: body(true), connections: 0, durationS: DURATION_S, rate: LIGHT_RATE, paced: true });
      const gwPaced = await run(`gateway → echo worker, ${LIGHT_RATE} req/s paced (unique prompts)`, gateway.url, { body: body(true), connections: 0, durationS: DURATION_S, rate: LIGHT_RATE, paced: true });
      const f = {
        ratioWorker: gwSat.rps / bareSat.rps, ratioHits: gwHit.rps / bareSat.rps,
        addedLightP50: gwLight.p50 - bareLight.p50, addedLightP99: gwLight.p99 - bareLight.p99,
        addedPacedP50: gwPaced.p50 - barePaced.p50, addedPacedP99: gwPaced.p99 - barePaced.p99, gatewayCpuPaced: firstCpu(gwPaced),
        addedSatP50: gwSat.p50 - bareSat.p50, addedSatP99: gwSat.p99 - bareSat.p99,
        gatewayCpuSat: firstCpu(gwSat), gatewayCpuLight: firstCpu(gwLight),
      };
      summaries.push(f);
      process.stdout.write([
        '',
        ...(REPEAT > 1 ? [`repetition ${rep} of ${REPEAT}`] : []),
        `${pad('run', 56)}${'req/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'ok'.padStart(10)}${'non-2xx'.padStart(10)}   CPU µs/req (gateway + worker; load generator)`,
        ...rows.map(([n, r]) => `${pad(n, 56)}${num(r.rps)}${num(r.p50, 3)}${num(r.p99, 3)}${num(r.ok)}${num(r.bad)}   ${r.cpuUsPerReq ?? ''}; ${r.loadGenUsPerReq?.toFixed(0) ?? ''}`),
        '',
        `throughput ratio gateway/bare at saturation (worker path): ${f.ratioWorker.toFixed(2)}×   (aim ≥ 0.60×)`,
        `throughput ratio gateway/bare at saturation (cache hits):  ${f.ratioHits.toFixed(2)}×`,
        `latency added by the gateway at ${LIGHT_RATE} req/s paced (one request every ${(1000 / LIGHT_RATE).toFixed(1)} ms, open loop): p50 ${f.addedPacedP50.toFixed(3)} ms, p99 ${f.addedPacedP99.toFixed(3)} ms   (aim p50 < 0.5 ms, p99 < 2 ms)`,
        `latency added by the gateway at ${LIGHT_RATE} req/s autocannon (1 s bursts, ${CONNECTIONS_LIGHT} connections closed loop): p50 ${f.addedLightP50.toFixed(3)} ms, p99 ${f.addedLightP99.toFixed(3)} ms`,
        `latency added by the gateway at saturation:     p50 ${f.addedSatP50.toFixed(3)} ms, p99 ${f.addedSatP99.toFixed(3)} ms`,
        '',
      ].join('\n'));
    }
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
    const batchSum = Number(/^mlx_serving_batch_size_sum (\S+)/m.exec(metrics)?.[1] ?? NaN);
    const batchCount = Number(/^mlx_serving_batch_size_count (\S+)/m.exec(metrics)?.[1] ?? NaN);
    const med = (k: string) => median(summaries.map((x) => x[k]!));
    process.stdout.write([
      ...(REPEAT > 1 ? [
        `medians over ${REPEAT} repetitions: ratio gateway/bare at saturation ${med('ratioWorker').toFixed(2)}× (cache hits ${med('ratioHits').toFixed(2)}×); gateway CPU ${med('gatewayCpuSat').toFixed(0)} µs/req at saturation, ${med('gatewayCpuLight').toFixed(0)} at ${LIGHT_RATE} req/s (bursts), ${med('gatewayCpuPaced').toFixed(0)} paced; added at ${LIGHT_RATE} req/s paced p50 ${med('addedPacedP50').toFixed(3)} ms, p99 ${med('addedPacedP99').toFixed(3)} ms; in bursts p50 ${med('addedLightP50').toFixed(3)} ms, p99 ${med('addedLightP99').toFixed(3)} ms`,
      ] : []),
      `mean requests per GenerateBatch (micro-batching): ${(batchSum / batchCount).toFixed(2)} over ${batchCount} batches`,
      '',
    ].join('\n'));
  } finally {
    for (const c of children) c.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
