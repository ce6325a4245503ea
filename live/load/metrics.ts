// Client-side measurements of one load run, into HdrHistograms (hdr-histogram-js, µs, 3 significant
// digits), and their summary (LoadSummary: the fields of the scenario runner's RunSummary, which
// scenarios/live/live-run.ts maps it to, so the reports and targets work for live runs unchanged). Throughput = output tokens delivered to the
// client ÷ the run's wall time (first request sent → last response ended), as in sim.
// The queue wait is not observable from a client: queueMs is reported as zeros.
import * as hdr from 'hdr-histogram-js';

/** Latency percentiles in ms. */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** What one load run measured, client side. */
export interface LoadSummary {
  readonly policy: string;
  readonly workers: number;
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rejected: number;
  readonly durationMs: number;
  readonly outputTokens: number;
  readonly outputTokPerS: number;
  readonly successRate: number;
  readonly ttftMs: Percentiles;
  readonly itlMs: Percentiles;
  readonly e2eMs: Percentiles;
  /** Not observable from a client: zeros. */
  readonly queueMs: Percentiles;
  readonly extra: Readonly<Record<string, number>>;
  /** [valueMs, cumulative fraction] pairs, at most ~100 points each. */
  readonly cdf: { readonly ttftMs: readonly (readonly [number, number])[]; readonly e2eMs: readonly (readonly [number, number])[]; readonly itlMs: readonly (readonly [number, number])[] };
  /** Output tok/s and requests in flight per time bucket. */
  readonly timeline: readonly { readonly tMs: number; readonly outputTokPerS: number; readonly inFlight: number }[];
}
import type { ChatOutcome } from './client.js';

/** Latencies above this are clamped (1 h in µs); nothing in a bounded run takes longer. */
const LATENCY_US_MAX = 3_600_000_000;
/** Timeline buckets at most (a chart needs no more). */
const TIMELINE_BUCKETS_MAX = 600;

class Hist {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, autoResize: false });

  recordMs(ms: number): void {
    this.h.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentiles(): Percentiles {
    if (this.h.totalCount === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
    const at = (p: number) => round3(this.h.getValueAtPercentile(p) / 1000);
    return { p50: at(50), p95: at(95), p99: at(99), max: round3(this.h.maxValue / 1000), mean: round3(this.h.mean / 1000) };
  }

  cdf(): [number, number][] {
    const pts: [number, number][] = [];
    if (this.h.totalCount > 0) for (let p = 1; p <= 100; p++) pts.push([round3(this.h.getValueAtPercentile(p) / 1000), p / 100]);
    return pts;
  }
}

export interface LoadCounters {
  requests: number;
  succeeded: number;
  failed: number;
  rejected: number;
  outputTokens: number;
  promptTokens: number;
  cachedPromptTokens: number;
  /** Requests still running when the run was cut (counted as failed). */
  unfinished: number;
  /** Failed or rejected before any token reached the client: the retryable ones (a retry elsewhere could have served them). */
  lostBeforeFirstToken: number;
  /** Failed after tokens had reached the client (not retryable by design: the client saw part of an answer). */
  failedAfterTokens: number;
}

/** Requests that did not succeed with one code: failed (5xx, stream errors, timeouts) and rejected (429/503). */
export interface ErrorCodeCount {
  readonly code: string;
  readonly failed: number;
  readonly rejected: number;
}

/** Codes counted at most (any further code counts as `other`). */
const ERROR_CODES_MAX = 50;

export class LoadMetrics {
  private readonly ttft = new Hist();
  private readonly itl = new Hist();
  private readonly e2e = new Hist();
  readonly counters: LoadCounters = { requests: 0, succeeded: 0, failed: 0, rejected: 0, outputTokens: 0, promptTokens: 0, cachedPromptTokens: 0, unfinished: 0, lostBeforeFirstToken: 0, failedAfterTokens: 0 };
  /** Tokens delivered per bucket, and in-flight count at each bucket's end. */
  private readonly tokensPerBucket: number[] = [];
  private readonly events: { tMs: number; delta: number }[] = [];
  readonly errors = new Map<string, number>();
  private readonly codes = new Map<string, { failed: number; rejected: number }>();

  /** `startMs`: the run's origin on the same clock as the outcomes. */
  constructor(private readonly startMs: number, private readonly bucketMs: number) {}

  sent(atMs: number): void {
    this.counters.requests++;
    this.events.push({ tMs: atMs - this.startMs, delta: 1 });
  }

  finished(o: ChatOutcome): void {
    const c = this.counters;
    this.events.push({ tMs: o.endMs - this.startMs, delta: -1 });
    // Tokens the client received count, whatever the ending (as in sim).
    const tokens = o.kind === 'ok' ? o.completionTokens : o.chunkMs.length;
    c.outputTokens += tokens;
    const perChunk = o.chunkMs.length > 0 ? tokens / o.chunkMs.length : 0;
    for (const t of o.chunkMs) this.addTokens(t - this.startMs, perChunk);
    if (o.kind === 'ok') {
      c.succeeded++;
      c.promptTokens += o.promptTokens ?? 0;
      c.cachedPromptTokens += o.cachedTokens ?? 0;
      if (o.firstTokenMs !== undefined) this.ttft.recordMs(o.firstTokenMs - o.sentMs);
      for (let i = 1; i < o.chunkMs.length; i++) this.itl.recordMs(o.chunkMs[i]! - o.chunkMs[i - 1]!);
      this.e2e.recordMs(o.endMs - o.sentMs);
    } else {
      if (o.kind === 'rejected') c.rejected++;
      else c.failed++;
      if (o.chunkMs.length > 0) c.failedAfterTokens++;
      else c.lostBeforeFirstToken++;
      let code = o.code ?? (o.status > 0 ? `http_${o.status}` : 'unknown');
      if (!this.codes.has(code) && this.codes.size >= ERROR_CODES_MAX) code = 'other';
      let n = this.codes.get(code);
      if (n === undefined) this.codes.set(code, (n = { failed: 0, rejected: 0 }));
      if (o.kind === 'rejected') n.rejected++;
      else n.failed++;
      const key = (o.error ?? `HTTP ${o.status}`).slice(0, 120);
      if (this.errors.size < 100 || this.errors.has(key)) this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    }
  }

  /** Failed and rejected requests by code, most frequent first (ties by code). */
  errorCodeCounts(): ErrorCodeCount[] {
    return [...this.codes.entries()].map(([code, n]) => ({ code, ...n }))
      .sort((a, b) => b.failed + b.rejected - (a.failed + a.rejected) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }

  private addTokens(tMs: number, n: number): void {
    const b = Math.min(TIMELINE_BUCKETS_MAX - 1, Math.max(0, Math.floor(tMs / this.bucketMs)));
    while (this.tokensPerBucket.length <= b) this.tokensPerBucket.push(0);
    this.tokensPerBucket[b]! += n;
  }

  summary(policy: string, workers: number, durationMs: number, extra: Record<string, number> = {}): LoadSummary {
    const c = this.counters;
    const finished = c.succeeded + c.failed + c.rejected;
    return {
      policy,
      workers,
      requests: c.requests,
      succeeded: c.succeeded,
      failed: c.failed,
      rejected: c.rejected,
      durationMs: Math.round(durationMs),
      outputTokens: Math.round(c.outputTokens),
      outputTokPerS: round3(durationMs > 0 ? c.outputTokens / (durationMs / 1000) : 0),
      successRate: round3(finished > 0 ? c.succeeded / finished : 1),
      ttftMs: this.ttft.percentiles(),
      itlMs: this.itl.percentiles(),
      e2eMs: this.e2e.percentiles(),
      queueMs: { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 },
      extra: {
        promptTokens: c.promptTokens,
        promptTokensCachedFraction: round3(c.promptTokens > 0 ? c.cachedPromptTokens / c.promptTokens : 0),
        meanOutputTokens: round3(c.succeeded > 0 ? c.outputTokens / c.succeeded : 0),
        unfinished: c.unfinished,
        // As in sim (scenarios/sim-run.ts): requests lost before their first token, and the success rate of the rest.
        lostRetryable: c.lostBeforeFirstToken,
        failedAfterTokens: c.failedAfterTokens,
        retryableSuccessRate: round3(finished - c.failedAfterTokens > 0 ? c.succeeded / (finished - c.failedAfterTokens) : 1),
        ...extra,
      },
      cdf: { ttftMs: this.ttft.cdf(), e2eMs: this.e2e.cdf(), itlMs: this.itl.cdf() },
      timeline: this.timeline(durationMs),
    };
  }

  private timeline(durationMs: number): LoadSummary['timeline'] {
    const n = Math.min(TIMELINE_BUCKETS_MAX, Math.max(1, Math.ceil(durationMs / this.bucketMs)));
    const ev = [...this.events].sort((a, b) => a.tMs - b.tMs);
    const out: { tMs: number; outputTokPerS: number; inFlight: number }[] = [];
    let inFlight = 0;
    let j = 0;
    for (let b = 0; b < n; b++) {
      const endMs = (b + 1) * this.bucketMs;
      while (j < ev.length && ev[j]!.tMs < endMs) inFlight += ev[j++]!.delta;
      out.push({ tMs: b * this.bucketMs, outputTokPerS: round3((this.tokensPerBucket[b] ?? 0) / (this.bucketMs / 1000)), inFlight });
    }
    return out;
  }
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
