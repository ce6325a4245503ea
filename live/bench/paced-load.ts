// An open-loop load at an even rate: request i leaves at t0 + i / rate, whatever the answers before it
// did, over keep-alive connections (a new one only when every open one is busy, up to
// `connectionsMax`). autocannon's `overallRate` is not that: each connection may send rate/connections
// requests per second and then pauses until the next whole second, so "1,000 req/s" over 16
// connections is a closed-loop burst of 1,000 requests at the top of each second, 16 in flight, then
// silence — its latencies are those of 16 queued requests (16 × the per-request service time), not of
// a server receiving one request a millisecond.
//
// Latency is measured from the instant a request was due (not when it could leave), so a load generator
// that falls behind shows up in the figures instead of hiding them (no coordinated omission).
import { Agent, request } from 'node:http';
import { percentile } from './bench-support.js';

export interface PacedResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly bad: number;
}

export interface PacedOptions {
  readonly url: string;
  readonly path: string;
  readonly body: () => string;
  readonly headers: Readonly<Record<string, string>>;
  readonly ratePerS: number;
  readonly durationS: number;
  /** Bound on open connections (a server that stops answering does not make this open thousands). */
  readonly connectionsMax: number;
}

/** Timer tick of the pacing loop; requests due within a tick leave together (at 1,000 req/s: 1 or 2). */
const TICK_MS = 1;

export function pacedLoad(o: PacedOptions): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connectionsMax });
  const target = new URL(o.path, o.url);
  const total = Math.round(o.ratePerS * o.durationS);
  const intervalMs = 1000 / o.ratePerS;
  const lat = new Float64Array(total);
  let sent = 0;
  let ok = 0;
  let bad = 0;
  let answered = 0;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      const sorted = lat.subarray(0, ok).sort();
      const s = (performance.now() - t0) / 1000;
      resolve({ rps: ok / s, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), ok, bad });
    };
    const send = (dueMs: number) => {
      const payload = o.body();
      const req = request(target, { method: 'POST', agent, headers: { ...o.headers, 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) lat[ok++] = performance.now() - dueMs;
          else bad++;
          if (++answered === total) finish();
        });
      });
      req.on('error', () => {
        bad++;
        if (++answered === total) finish();
      });
      req.end(payload);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * intervalMs <= now) send(t0 + sent++ * intervalMs);
      if (sent < total) setTimeout(tick, TICK_MS);
    };
    tick();
  });
}
