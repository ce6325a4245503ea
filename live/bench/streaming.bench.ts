// Streaming benchmark: N concurrent SSE streams through the gateway to an echo worker that emits one
// token per interval on a timer, side by side in the same run with the same N streams read straight
// from the echo worker over gRPC (the baseline: the worker's own timer jitter and the machine's noise).
//
//   npm run bench:streaming
//   env: BENCH_STREAMS (1000), BENCH_TOKEN_INTERVAL_MS (50), BENCH_MAX_TOKENS (64), BENCH_DURATION_S (10),
//        BENCH_WINDOW_MS (gateway micro-batching window, 1), BENCH_CPU_PROF_DIR (CPU-profile the gateway)
//
// Each stream is closed-loop: when one ends, the next starts on the same connection, so N streams are
// always open. Streams start staggered over one interval (a real fleet's tokens do not all fall on the
// same millisecond). Every prompt is unique (no coalescing, no cache). Measured after a warm-up:
//   - relayed tokens/s: content chunks the clients received per second;
//   - tokens/s per gateway core: relayed tokens over the gateway's CPU seconds (/proc) in the window;
//   - inter-token gap: time between successive content chunks of one stream, at the client;
//   - added inter-token latency: gateway gap percentile − direct gap percentile.
// Aim (issue 16): < 1 ms added at p99 with 1,000 concurrent streams.
import * as http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createWorkerClient, type EventBatchMsg } from '../shared/proto.js';
import { cpuSeconds, percentile, spawnReady, type Child } from './bench-support.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const INTERVAL_MS = Number(process.env.BENCH_TOKEN_INTERVAL_MS ?? 50);
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 64);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 3;
const API_KEY = 'sk-bench-key-0001';
const PROMPT_WORDS = 'the quick brown fox jumps over the lazy dog';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** What one path (direct or through the gateway) measured in its window. */
interface StreamStats {
  tokens: number;
  streams: number;
  errors: number;
  readonly gapsMs: number[];
}

/** Collects gaps and counts for samples inside [fromMs, toMs) (performance.now()). */
class Window {
  readonly stats: StreamStats = { tokens: 0, streams: 0, errors: 0, gapsMs: [] };
  constructor(readonly fromMs: number, readonly toMs: number) {}
  open(nowMs: number): boolean {
    return nowMs >= this.fromMs && nowMs < this.toMs;
  }
  token(nowMs: number, lastMs: number | undefined): void {
    if (!this.open(nowMs)) return;
    this.stats.tokens++;
    if (lastMs !== undefined && lastMs >= this.fromMs) this.stats.gapsMs.push(nowMs - lastMs);
  }
}

let seq = 0;
const runId = process.hrtime.bigint().toString(36);
const uniquePrompt = () => `${PROMPT_WORDS} ${runId}-${seq++}`;

/** N closed-loop streams over one gRPC Session, straight to the echo worker. */
function runDirect(address: string, w: Window): Promise<void> {
  const client = createWorkerClient(address);
  const s = client.session();
  const last = new Map<string, number | undefined>();
  const start = () => {
    const requestId = `d${seq}`;
    last.set(requestId, undefined);
    s.write({ batch: { requests: [{ requestId, model: 'echo', prompt: uniquePrompt(), messages: [], maxTokens: MAX_TOKENS, temperature: 0, topP: 1, stop: [], sessionId: '', traceId: requestId, deadlineUnixMs: 0 }] } });
  };
  s.on('data', (b: EventBatchMsg) => {
    const now = performance.now();
    for (const ev of b.events) {
      if (ev.kind === 'tokens') {
        w.token(now, last.get(ev.requestId));
        last.set(ev.requestId, now);
      } else {
        last.delete(ev.requestId);
        if (w.open(now) && ev.kind === 'done') w.stats.streams++;
        else if (w.open(now)) w.stats.errors++;
        if (now < w.toMs) start();
      }
    }
  });
  s.on('error', () => undefined); // CANCELLED when closed below
  for (let i = 0; i < STREAMS; i++) setTimeout(start, (i * INTERVAL_MS) / STREAMS);
  return new Promise((resolve) => setTimeout(() => {
    s.cancel();
    client.close();
    resolve();
  }, w.toMs - performance.now() + 50));
}

/** N closed-loop SSE streams through the gateway, one keep-alive connection each. */
function runGateway(url: string, w: Window): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
  const target = new URL(`${url}/v1/chat/completions`);
  const stream = (): void => {
    const now0 = performance.now();
    if (now0 >= w.toMs) return;
    const body = JSON.stringify({ model: 'echo', stream: true, temperature: 0, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: uniquePrompt() }] });
    const req = http.request({
      agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${API_KEY}` },
    }, (res) => {
      let buf = '';
      let lastMs: number | undefined;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const now = performance.now();
        buf += d;
        let cut = buf.indexOf('\n\n');
        while (cut >= 0) {
          const ev = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          cut = buf.indexOf('\n\n');
          // A content chunk (not the role chunk, not the final one): one token of the echo worker.
          if (ev.includes('"delta":{"content":')) {
            w.token(now, lastMs);
            lastMs = now;
          }
        }
      });
      res.on('end', () => {
        const now = performance.now();
        if (w.open(now) && res.statusCode === 200) w.stats.streams++;
        else if (w.open(now)) w.stats.errors++;
        stream();
      });
    });
    req.on('error', () => {
      if (w.open(performance.now())) w.stats.errors++;
      setTimeout(stream, INTERVAL_MS);
    });
    req.end(body);
  };
  for (let i = 0; i < STREAMS; i++) setTimeout(stream, (i * INTERVAL_MS) / STREAMS);
  return new Promise((resolve) => setTimeout(() => {
    agent.destroy();
    resolve();
  }, w.toMs - performance.now() + 50));
}

interface Row {
  readonly name: string;
  readonly s: StreamStats;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** CPU cores used in the window: gateway (idle for direct), echo worker, this load generator. */
  readonly gatewayCores: number;
  readonly workerCores: number;
  readonly clientCores: number;
}

async function measure(name: string, gateway: Child, echo: Child, run: (w: Window) => Promise<void>): Promise<Row> {
  const t0 = performance.now();
  const w = new Window(t0 + WARMUP_S * 1000, t0 + (WARMUP_S + DURATION_S) * 1000);
  let cpu0: number[] = [];
  const mark = setTimeout(() => {
    cpu0 = [cpuSeconds(gateway.proc.pid), cpuSeconds(echo.proc.pid), cpuSeconds(process.pid)];
  }, w.fromMs - t0);
  let cpu1: number[] = [];
  const markEnd = setTimeout(() => {
    cpu1 = [cpuSeconds(gateway.proc.pid), cpuSeconds(echo.proc.pid), cpuSeconds(process.pid)];
  }, w.toMs - t0);
  await run(w);
  clearTimeout(mark);
  clearTimeout(markEnd);
  const gaps = Float64Array.from(w.stats.gapsMs).sort();
  const row: Row = {
    name, s: w.stats, p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), p999: percentile(gaps, 0.999),
    gatewayCores: (cpu1[0]! - cpu0[0]!) / DURATION_S, workerCores: (cpu1[1]! - cpu0[1]!) / DURATION_S, clientCores: (cpu1[2]! - cpu0[2]!) / DURATION_S,
  };
  process.stderr.write(`  ${name}: ${(w.stats.tokens / DURATION_S).toFixed(0)} tokens/s, gap p50 ${row.p50.toFixed(3)} ms, p99 ${row.p99.toFixed(3)} ms\n`);
  // Let the last streams drain before the next run.
  await new Promise((r) => setTimeout(r, INTERVAL_MS * 2 + 200));
  return row;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-stream-bench-'));
  const children: Child[] = [];
  try {
    const echo = await spawnReady(here('../echo/main.ts'), [
      '--id', 'echo-1', '--address', `unix://${join(dir, 'echo.sock')}`, '--max-concurrent', String(4 * STREAMS),
      '--token-delay-ms', String(INTERVAL_MS), '--first-token-delay-ms', String(INTERVAL_MS), '--repeat-to-max-tokens',
    ]);
    children.push(echo);
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [API_KEY] },
      logLevel: 'warn',
      workers: [{ id: 'echo-1', address: echo.url }],
      core: {
        batching: { type: 'micro', windowMs: Number(process.env.BENCH_WINDOW_MS ?? 1), maxBatchSize: 64 },
        admission: { maxConcurrentPerWorker: 4 * STREAMS, queueMax: 4 * STREAMS },
      },
    }));
    const gateway = await spawnReady(here('../gateway/main.ts'), ['--config', configPath]);
    children.push(gateway);

    process.stderr.write(`streaming bench: ${STREAMS} streams × 1 token / ${INTERVAL_MS} ms, ${MAX_TOKENS} tokens per stream, ${DURATION_S} s per run (+${WARMUP_S} s warm-up)\n`);
    const direct = await measure('direct to the echo worker (gRPC)', gateway, echo, (w) => runDirect(echo.url, w));
    const gw = await measure('through the gateway (SSE)', gateway, echo, (w) => runGateway(gateway.url, w));

    const num = (x: number, d = 0) => x.toFixed(d).padStart(10);
    const lines = [
      '',
      `${'run'.padEnd(36)}${'tokens/s'.padStart(10)}${'streams'.padStart(10)}${'errors'.padStart(10)}${'gap p50'.padStart(10)}${'gap p99'.padStart(10)}${'gap p99.9'.padStart(10)}   CPU cores (gateway, worker, load generator)`,
      ...[direct, gw].map((r) => `${r.name.padEnd(36)}${num(r.s.tokens / DURATION_S)}${num(r.s.streams)}${num(r.s.errors)}${num(r.p50, 3)}${num(r.p99, 3)}${num(r.p999, 3)}   ${r === direct ? '-' : r.gatewayCores.toFixed(2)}, ${r.workerCores.toFixed(2)}, ${r.clientCores.toFixed(2)}`),
      '',
      `relayed tokens/s per gateway core: ${(gw.s.tokens / DURATION_S / gw.gatewayCores).toFixed(0)}   (gateway CPU per relayed token: ${((gw.gatewayCores * DURATION_S * 1e6) / gw.s.tokens).toFixed(1)} µs)`,
      `inter-token latency added by the gateway: p50 ${(gw.p50 - direct.p50).toFixed(3)} ms, p99 ${(gw.p99 - direct.p99).toFixed(3)} ms, p99.9 ${(gw.p999 - direct.p999).toFixed(3)} ms   (aim < 1 ms at p99 with 1,000 streams)`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    for (const c of children) c.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
