// What every client response shares, whatever API it speaks (OpenAI's in http-sink.ts, Anthropic's in
// anthropic-sink.ts): the request timeout, the client leaving, the bound on bytes a client leaves
// unread, lazy SSE headers, time-to-first-token and inter-token metrics, and the one terminal command
// turned into success, failure or a cut connection. A subclass only renders: tokens, the cached
// answer, the successful end and an error, in its API's format.
//
// Streaming headers are written lazily, on the first output: a request refused before any output
// (rate limit, unknown model, queue timeout) still gets a plain HTTP error status.
// Back-pressure: the worker stream is multiplexed, so one slow client cannot pause it; instead the
// bytes a client leaves unread are bounded (sseBufferBytesMax) and the request is cancelled past it.
import type { FastifyReply } from 'fastify';
import type { CachedAnswer, TerminalCommand, TokenLogprob, Usage, WorkerOutput } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { GatewayContext } from './context.js';
import type { RequestSink } from './core-driver.js';
import type { AnyErrorCode } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { DEFAULT_TENANT, type UsageLedger } from '../usage/usage-ledger.js';

export interface SinkDeps {
  readonly metrics: GatewayMetrics;
  readonly clock: Clock;
  readonly sseBufferBytesMax: number;
  readonly requestTimeoutMs: number;
  readonly cancel: (requestId: string) => void;
  /** Usage accounting per tenant (live/usage/usage-ledger.ts). */
  readonly usage?: UsageLedger;
}

/** The sink dependencies of a gateway's routes. */
export function sinkDepsOf(ctx: GatewayContext): SinkDeps {
  return {
    metrics: ctx.metrics,
    clock: ctx.clock,
    sseBufferBytesMax: ctx.config.limits.sseBufferBytesMax,
    requestTimeoutMs: ctx.config.limits.requestTimeoutMs,
    cancel: (id) => ctx.driver.cancel(id),
    usage: ctx.usage,
  };
}

export interface SinkBaseInit {
  readonly jobId: string;
  readonly traceId: string;
  readonly stream: boolean;
  /** The route, for the HTTP metrics of a response the client cut off. */
  readonly route: string;
  /** The model asked for, and the credential's tenant: the usage account a served response is counted in. */
  readonly model: string;
  readonly tenant?: string | undefined;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

export abstract class SinkBase implements RequestSink {
  readonly traceId: string;
  readonly deadlineUnixMs: number;
  protected readonly arrivedAtMs: number;
  /** Unix seconds at arrival (OpenAI's `created`). */
  protected readonly created: number;
  protected headersWritten = false;
  protected ended = false;
  private lastTokenAtMs: number | undefined;
  private clientGone = false;
  private timedOut = false;
  private slowClient = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly reply: FastifyReply,
    private readonly base: SinkBaseInit,
    protected readonly deps: SinkDeps,
  ) {
    this.traceId = base.traceId;
    this.arrivedAtMs = deps.clock.nowMs();
    const wall = deps.clock.wallMs();
    this.deadlineUnixMs = Math.round(wall + deps.requestTimeoutMs);
    this.created = Math.floor(wall / 1000);
  }

  // ───────────────────────────── what a subclass renders ─────────────────────────────

  /** Output tokens (the metrics are counted already). */
  protected abstract onTokens(text: string, count: number, logprobs: readonly TokenLogprob[] | undefined): void;
  /** The answer of dedupe or the response cache, whole; `succeed` follows. */
  protected abstract onCachedAnswer(answer: CachedAnswer): void;
  /** The successful end of the response (usage counted already). */
  protected abstract succeed(usage: Usage): void;
  /** An error response: `sendError` before the stream started, `endStream` with an error event after. */
  protected abstract fail(code: AnyErrorCode, message?: string, status?: number, retryAfterMs?: number): void;
  /** What a stream opens with, right after its headers ('' for nothing). */
  protected abstract streamHead(): string;

  abstract workerDone(output: WorkerOutput): void;

  // ───────────────────────────── RequestSink ─────────────────────────────

  /** Watches for the client leaving and arms the request timeout. Call before handing the request to the core. */
  start(): void {
    this.reply.raw.on('close', this.onClose); // emitted once per response: `on` spares the wrapper `once` allocates (issue 16)
    this.timer = setTimeout(this.onTimeout, this.deps.requestTimeoutMs);
  }

  tokens(text: string, count: number, logprobs?: readonly TokenLogprob[]): void {
    if (this.ended || this.clientGone) return;
    const now = this.deps.clock.nowMs();
    if (this.lastTokenAtMs === undefined) this.deps.metrics.ttft.observe((now - this.arrivedAtMs) / 1000);
    else if (this.base.stream) this.deps.metrics.interToken.observe((now - this.lastTokenAtMs) / 1000);
    this.lastTokenAtMs = now;
    this.onTokens(text, count, logprobs);
  }

  finish(cmd: TerminalCommand): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.ended) return;
    if (this.clientGone && !this.timedOut) {
      this.abortConnection();
      return;
    }
    switch (cmd.type) {
      case 'serveFromCache':
        if (this.lastTokenAtMs === undefined) this.deps.metrics.ttft.observe((this.deps.clock.nowMs() - this.arrivedAtMs) / 1000);
        this.onCachedAnswer(cmd.answer);
        // nothing was computed for an answer from the gateway's caches: all of its prompt counts as cached
        this.end({ promptTokens: cmd.answer.promptTokens, completionTokens: cmd.answer.completionTokens, cachedPromptTokens: cmd.answer.promptTokens });
        return;
      case 'complete':
        this.end(cmd.usage);
        return;
      case 'reject':
        this.ended = true;
        this.fail(cmd.code, cmd.message, cmd.status, cmd.retryAfterMs);
        return;
      case 'fail':
        if (this.slowClient && !this.timedOut) {
          this.abortConnection();
          return;
        }
        this.ended = true;
        if (this.timedOut) this.fail('request_timeout');
        else this.fail(cmd.code, cmd.message, cmd.status);
        return;
    }
  }

  private end(usage: Usage): void {
    this.ended = true;
    this.deps.metrics.promptTokens.inc(usage.promptTokens);
    this.deps.metrics.completionTokens.inc(usage.completionTokens);
    if (usage.cachedPromptTokens !== undefined) this.deps.metrics.cachedPromptTokens.inc(usage.cachedPromptTokens);
    this.deps.usage?.record(this.base.tenant, this.base.model, usage.promptTokens, usage.completionTokens);
    const tenant = this.base.tenant ?? DEFAULT_TENANT;
    this.deps.metrics.tenantRequests.inc({ tenant });
    this.deps.metrics.tenantTokens.inc({ tenant, kind: 'prompt' }, usage.promptTokens);
    this.deps.metrics.tenantTokens.inc({ tenant, kind: 'completion' }, usage.completionTokens);
    this.succeed(usage);
  }

  // ───────────────────────────── writing ─────────────────────────────

  /** An error status and JSON body (the stream has not started). */
  protected sendError(body: object, status: number, retryAfterMs?: number): void {
    if (retryAfterMs !== undefined) this.reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    this.reply.code(status).send(body);
  }

  protected ensureSseHeaders(): void {
    if (this.headersWritten) return;
    this.headersWritten = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, { ...SSE_HEADERS, 'x-request-id': this.traceId });
    const head = this.streamHead();
    if (head !== '') this.write(head);
  }

  protected write(s: string): void {
    const raw = this.reply.raw;
    if (raw.destroyed) return;
    if (!raw.write(s) && raw.writableLength > this.deps.sseBufferBytesMax && !this.slowClient) {
      this.slowClient = true;
      this.deps.metrics.slowClientCancels.inc();
      this.deps.cancel(this.base.jobId);
    }
  }

  protected endStream(s: string): void {
    const raw = this.reply.raw;
    if (!raw.destroyed) raw.end(s);
  }

  private abortConnection(): void {
    this.ended = true;
    this.countHttp(499);
    this.reply.raw.destroy();
  }

  /** Fastify's onResponse hook counts responses that finish; ones the client cut off are counted here. */
  private countHttp(status: number): void {
    const m = this.deps.metrics;
    m.httpRequests.inc({ route: this.base.route, method: 'POST', status: String(status) });
    m.requestDuration.observe({ route: this.base.route }, (this.deps.clock.nowMs() - this.arrivedAtMs) / 1000);
  }

  // ───────────────────────────── client events ─────────────────────────────

  private readonly onClose = (): void => {
    if (this.ended) return;
    this.clientGone = true;
    this.deps.cancel(this.base.jobId);
  };

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    if (this.ended) return;
    this.timedOut = true;
    this.deps.cancel(this.base.jobId);
  };
}
