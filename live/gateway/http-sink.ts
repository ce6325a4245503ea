// One client request's response: Server-Sent Events (stream: true) or one JSON body, for chat and
// text completions, in OpenAI's formats. The sink receives what the core decided (tokens, the end)
// and only writes; the two things it reports back are the client leaving and the request timing out
// or reading too slowly, each as a cancel that the core turns into the request's end.
//
// Streaming headers are written lazily, on the first token: a request refused before any output
// (rate limit, unknown model, queue timeout) still gets a plain HTTP error status. Once the stream is
// under way, an error is an SSE `data: {"error": …}` event followed by `data: [DONE]`.
// Back-pressure: the worker stream is multiplexed, so one slow client cannot pause it; instead the
// bytes a client leaves unread are bounded (sseBufferBytesMax) and the request is cancelled past it.
import type { FastifyReply } from 'fastify';
import type { TerminalCommand, TokenLogprob, Usage, WorkerOutput } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestSink } from './core-driver.js';
import { errorBody, type AnyErrorCode } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { parseToolCall, ToolCallStream, type StreamPiece } from './tool-calls.js';

export type CompletionKind = 'chat' | 'completion';

export interface SinkDeps {
  readonly metrics: GatewayMetrics;
  readonly clock: Clock;
  readonly sseBufferBytesMax: number;
  readonly requestTimeoutMs: number;
  readonly cancel: (requestId: string) => void;
}

export interface SinkInit {
  readonly jobId: string;
  readonly traceId: string;
  readonly kind: CompletionKind;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly model: string;
  readonly route: string;
  /** The request asked for log-probabilities: every choice and chunk carries a logprobs object. */
  readonly logprobs: boolean;
  /** Chat with tools: how calls are reported (tool-calls.ts) and the tools' names; absent = no tools. */
  readonly tools?: { readonly mode: 'none' | 'auto' | 'forced'; readonly names: readonly string[] };
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

export class HttpSink implements RequestSink {
  readonly traceId: string;
  readonly deadlineUnixMs: number;
  private readonly arrivedAtMs: number;
  private readonly created: number;
  private readonly responseId: string;
  private parts: string[] = [];
  private completionTokens = 0;
  /** Non-streamed responses: every token's log-probability (when asked for). */
  private logprobs: TokenLogprob[] = [];
  /** Completions: characters of the text before the next token (OpenAI's text_offset). */
  private textOffset = 0;
  private finishReason: 'stop' | 'length' | 'tool_calls' = 'stop';
  /** Streamed chat with tools (mode auto or forced): splits the output into content or a call's deltas. */
  private readonly toolStream: ToolCallStream | undefined;
  private headersWritten = false;
  private lastTokenAtMs: number | undefined;
  private ended = false;
  private clientGone = false;
  private timedOut = false;
  private slowClient = false;
  private timer: NodeJS.Timeout | undefined;
  /** Chunk JSON up to the content (chat: `…"delta":`; completion: `…"choices":[{"text":`). */
  private readonly chunkHead: string;

  constructor(
    private readonly reply: FastifyReply,
    private readonly init: SinkInit,
    private readonly deps: SinkDeps,
  ) {
    this.traceId = init.traceId;
    this.arrivedAtMs = deps.clock.nowMs();
    const wall = deps.clock.wallMs();
    this.deadlineUnixMs = Math.round(wall + deps.requestTimeoutMs);
    this.created = Math.floor(wall / 1000);
    this.responseId = `${init.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${init.jobId}`;
    // Only streams write chunks: a JSON answer does not build the head (issue 16: per-request work).
    const head = init.stream ? `{"id":"${this.responseId}","object":"${init.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'}","created":${this.created},"model":${JSON.stringify(init.model)},"choices":[{` : '';
    this.chunkHead = !init.stream ? '' : init.kind === 'chat' ? `${head}"index":0,"delta":` : `${head}"text":`;
    const t = init.tools;
    this.toolStream = init.stream && t !== undefined && t.mode !== 'none' ? new ToolCallStream(t.names, this.callId()) : undefined;
  }

  private callId(): string {
    return `call_${this.init.jobId}`;
  }

  /** Watches for the client leaving and arms the request timeout. Call before handing the request to the core. */
  start(): void {
    // 'close' is emitted once per response: `on` spares the wrapper `once` allocates per request.
    this.reply.raw.on('close', this.onClose);
    this.timer = setTimeout(this.onTimeout, this.deps.requestTimeoutMs);
  }

  tokens(text: string, count: number, logprobs?: readonly TokenLogprob[]): void {
    if (this.ended || this.clientGone) return;
    const now = this.deps.clock.nowMs();
    if (this.lastTokenAtMs === undefined) this.deps.metrics.ttft.observe((now - this.arrivedAtMs) / 1000);
    else if (this.init.stream) this.deps.metrics.interToken.observe((now - this.lastTokenAtMs) / 1000);
    this.lastTokenAtMs = now;
    this.completionTokens += count;
    const lps = this.init.logprobs ? (logprobs ?? []) : [];
    if (!this.init.stream) {
      this.parts.push(text);
      for (const lp of lps) this.logprobs.push(lp);
      return;
    }
    this.ensureSseHeaders();
    if (this.toolStream !== undefined) this.writePieces(this.toolStream.push(text), lps);
    else this.write(this.contentChunk(text, lps));
  }

  private writePieces(pieces: readonly StreamPiece[], lps: readonly TokenLogprob[]): void {
    for (const p of pieces) {
      if (p.kind === 'content') this.write(this.contentChunk(p.text, lps));
      else if (p.kind === 'callStart') this.write(`data: ${this.chunkHead}${JSON.stringify({ tool_calls: [{ index: 0, ...p.call }] })},"logprobs":null,"finish_reason":null}]}\n\n`);
      else this.write(`data: ${this.chunkHead}${JSON.stringify({ tool_calls: [{ index: 0, function: { arguments: p.text } }] })},"logprobs":null,"finish_reason":null}]}\n\n`);
    }
  }

  workerDone(output: WorkerOutput): void {
    this.finishReason = output.finishReason;
  }

  finish(cmd: TerminalCommand): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.ended) return;
    if (this.clientGone && !this.timedOut) {
      this.abortConnection();
      return;
    }
    switch (cmd.type) {
      case 'serveFromCache': {
        const a = cmd.answer;
        if (this.lastTokenAtMs === undefined) this.deps.metrics.ttft.observe((this.deps.clock.nowMs() - this.arrivedAtMs) / 1000);
        this.finishReason = a.finishReason;
        this.parts = [a.text ?? ''];
        this.logprobs = this.init.logprobs ? [...(a.logprobs ?? [])] : [];
        if (this.init.stream) {
          this.ensureSseHeaders();
          if (this.toolStream !== undefined) this.writePieces(this.toolStream.push(a.text ?? ''), this.logprobs);
          else if ((a.text ?? '') !== '' || this.logprobs.length > 0) this.write(this.contentChunk(a.text ?? '', this.logprobs));
        }
        this.succeed({ promptTokens: a.promptTokens, completionTokens: a.completionTokens });
        return;
      }
      case 'complete':
        this.succeed(cmd.usage);
        return;
      case 'reject':
        this.fail(cmd.code, cmd.message, cmd.status, cmd.retryAfterMs);
        return;
      case 'fail':
        if (this.timedOut) this.fail('request_timeout');
        else if (this.slowClient) this.abortConnection();
        else this.fail(cmd.code, cmd.message, cmd.status);
        return;
    }
  }

  // ───────────────────────────── endings ─────────────────────────────

  private succeed(usage: Usage): void {
    this.ended = true;
    const m = this.deps.metrics;
    m.promptTokens.inc(usage.promptTokens);
    m.completionTokens.inc(usage.completionTokens);
    const u = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
    if (!this.init.stream) {
      this.reply.send(this.jsonBody(this.parts.join(''), u));
      return;
    }
    this.ensureSseHeaders();
    if (this.toolStream !== undefined) {
      this.writePieces(this.toolStream.end(), []);
      if (this.toolStream.isCall && this.finishReason === 'stop') this.finishReason = 'tool_calls';
    }
    const tail = this.init.kind === 'chat' ? `{},"logprobs":null,"finish_reason":"${this.finishReason}"}]}` : `"","index":0,"logprobs":null,"finish_reason":"${this.finishReason}"}]}`;
    let out = `data: ${this.chunkHead}${tail}\n\n`;
    if (this.init.includeUsage) {
      const obj = this.init.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      out += `data: {"id":"${this.responseId}","object":"${obj}","created":${this.created},"model":${JSON.stringify(this.init.model)},"choices":[],"usage":${JSON.stringify(u)}}\n\n`;
    }
    out += 'data: [DONE]\n\n';
    this.endStream(out);
  }

  private fail(code: AnyErrorCode, message?: string, status?: number, retryAfterMs?: number): void {
    this.ended = true;
    const body = errorBody(code, message);
    if (this.headersWritten) {
      this.endStream(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`);
      return;
    }
    if (retryAfterMs !== undefined) this.reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    this.reply.code(status ?? (code === 'request_timeout' ? 504 : 500)).send(body);
  }

  private abortConnection(): void {
    this.ended = true;
    this.countHttp(499);
    this.reply.raw.destroy();
  }

  private jsonBody(text: string, usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }): object {
    if (this.init.kind === 'chat') {
      const t = this.init.tools;
      const call = t !== undefined && t.mode !== 'none' ? parseToolCall(text, t.names, this.callId()) : undefined;
      if (call !== undefined) {
        return {
          id: this.responseId, object: 'chat.completion', created: this.created, model: this.init.model, system_fingerprint: null,
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, logprobs: this.init.logprobs ? chatLogprobs(this.logprobs) : null, finish_reason: 'tool_calls' }],
          usage,
        };
      }
      return {
        id: this.responseId, object: 'chat.completion', created: this.created, model: this.init.model, system_fingerprint: null,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: this.init.logprobs ? chatLogprobs(this.logprobs) : null, finish_reason: this.finishReason }],
        usage,
      };
    }
    return {
      id: this.responseId, object: 'text_completion', created: this.created, model: this.init.model,
      choices: [{ text, index: 0, logprobs: this.init.logprobs ? this.completionLogprobs(this.logprobs) : null, finish_reason: this.finishReason }],
      usage,
    };
  }

  // ───────────────────────────── SSE ─────────────────────────────

  private contentChunk(text: string, logprobs: readonly TokenLogprob[]): string {
    const chat = this.init.kind === 'chat';
    const lp = !this.init.logprobs ? 'null' : JSON.stringify(chat ? chatLogprobs(logprobs) : this.completionLogprobs(logprobs));
    return chat
      ? `data: ${this.chunkHead}{"content":${JSON.stringify(text)}},"logprobs":${lp},"finish_reason":null}]}\n\n`
      : `data: ${this.chunkHead}${JSON.stringify(text)},"index":0,"logprobs":${lp},"finish_reason":null}]}\n\n`;
  }

  /** OpenAI's legacy shape; text_offset counts UTF-16 code units from the start of the completion (no echo). */
  private completionLogprobs(lps: readonly TokenLogprob[]): CompletionLogprobs {
    const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    for (const lp of lps) {
      out.tokens.push(lp.token);
      out.token_logprobs.push(lp.logprob);
      out.top_logprobs.push(Object.fromEntries(lp.topLogprobs.map((c) => [c.token, c.logprob])));
      out.text_offset.push(this.textOffset);
      this.textOffset += lp.token.length;
    }
    return out;
  }

  private ensureSseHeaders(): void {
    if (this.headersWritten) return;
    this.headersWritten = true;
    this.reply.hijack();
    const raw = this.reply.raw;
    raw.writeHead(200, { ...SSE_HEADERS, 'x-request-id': this.traceId });
    if (this.init.kind === 'chat') this.write(`data: ${this.chunkHead}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);
  }

  private write(s: string): void {
    const raw = this.reply.raw;
    if (raw.destroyed) return;
    if (!raw.write(s) && raw.writableLength > this.deps.sseBufferBytesMax && !this.slowClient) {
      this.slowClient = true;
      this.deps.metrics.slowClientCancels.inc();
      this.deps.cancel(this.init.jobId);
    }
  }

  private endStream(s: string): void {
    const raw = this.reply.raw;
    if (!raw.destroyed) raw.end(s);
  }

  /** Fastify's onResponse hook counts responses that finish; ones the client cut off are counted here. */
  private countHttp(status: number): void {
    const m = this.deps.metrics;
    m.httpRequests.inc({ route: this.init.route, method: 'POST', status: String(status) });
    m.requestDuration.observe({ route: this.init.route }, (this.deps.clock.nowMs() - this.arrivedAtMs) / 1000);
  }

  // ───────────────────────────── client events ─────────────────────────────

  private readonly onClose = (): void => {
    if (this.ended) return;
    this.clientGone = true;
    this.deps.cancel(this.init.jobId);
  };

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    if (this.ended) return;
    this.timedOut = true;
    this.deps.cancel(this.init.jobId);
  };
}

interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

/** OpenAI's chat shape: `{content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: null}`. */
function chatLogprobs(lps: readonly TokenLogprob[]): object {
  return {
    content: lps.map((lp) => ({ token: lp.token, logprob: lp.logprob, bytes: lp.bytes, top_logprobs: lp.topLogprobs.map((c) => ({ token: c.token, logprob: c.logprob, bytes: c.bytes })) })),
    refusal: null,
  };
}
