// One client request's response in OpenAI's formats: Server-Sent Events (stream: true) or one JSON
// body, for chat and text completions. The sink receives what the core decided (tokens, the end) and
// only writes; what every response shares (timeout, client leaving, slow readers, lazy SSE headers)
// is sink-base.ts. Once an OpenAI stream is under way, an error is an SSE `data: {"error": …}` event
// followed by `data: [DONE]`.
import type { FastifyReply } from 'fastify';
import type { CachedAnswer, TokenLogprob, Usage, WorkerOutput } from '../../core/index.js';
import { errorBody, errorStatus, type AnyErrorCode } from './errors.js';
import type { CompletionKind } from './admission.js';
import { SinkBase, type SinkDeps } from './sink-base.js';
import { parseToolCall, ToolCallStream, type StreamPiece } from './tool-calls.js';

/** OpenAI's usage object (prompt_tokens_details.cached_tokens when the worker or a cache says). */
interface UsageBody {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details?: { readonly cached_tokens: number };
}

export interface SinkInit {
  readonly jobId: string;
  readonly traceId: string;
  readonly kind: CompletionKind;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly model: string;
  /** The credential's tenant (usage accounting). */
  readonly tenant?: string | undefined;
  readonly route: string;
  /** The request asked for log-probabilities: every choice and chunk carries a logprobs object. */
  readonly logprobs: boolean;
  /** Chat with tools: how calls are reported (tool-calls.ts) and the tools' names; absent = no tools. */
  readonly tools?: { readonly mode: 'none' | 'auto' | 'forced'; readonly names: readonly string[] };
}

export class HttpSink extends SinkBase {
  private readonly responseId: string;
  private parts: string[] = [];
  /** Non-streamed responses: every token's log-probability (when asked for). */
  private logprobs: TokenLogprob[] = [];
  /** Completions: characters of the text before the next token (OpenAI's text_offset). */
  private textOffset = 0;
  private finishReason: 'stop' | 'length' | 'tool_calls' = 'stop';
  /** Streamed chat with tools (mode auto or forced): splits the output into content or a call's deltas. */
  private readonly toolStream: ToolCallStream | undefined;
  /** Chunk JSON up to the content (chat: `…"delta":`; completion: `…"choices":[{"text":`). */
  private readonly chunkHead: string;

  constructor(reply: FastifyReply, private readonly init: SinkInit, deps: SinkDeps) {
    super(reply, init, deps);
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

  protected onTokens(text: string, _count: number, logprobs: readonly TokenLogprob[] | undefined): void {
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

  protected onCachedAnswer(a: CachedAnswer): void {
    this.finishReason = a.finishReason;
    this.parts = [a.text ?? ''];
    this.logprobs = this.init.logprobs ? [...(a.logprobs ?? [])] : [];
    if (!this.init.stream) return;
    this.ensureSseHeaders();
    if (this.toolStream !== undefined) this.writePieces(this.toolStream.push(a.text ?? ''), this.logprobs);
    else if ((a.text ?? '') !== '' || this.logprobs.length > 0) this.write(this.contentChunk(a.text ?? '', this.logprobs));
  }

  // ───────────────────────────── endings ─────────────────────────────

  protected succeed(usage: Usage): void {
    const u: UsageBody = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens,
      ...(usage.cachedPromptTokens !== undefined && { prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens } }) };
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

  protected fail(code: AnyErrorCode, message?: string, status?: number, retryAfterMs?: number): void {
    const body = errorBody(code, message);
    if (this.headersWritten) this.endStream(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`);
    else this.sendError(body, status ?? errorStatus(code), retryAfterMs);
  }

  private jsonBody(text: string, usage: UsageBody): object {
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

  protected streamHead(): string {
    return this.init.kind === 'chat' ? `data: ${this.chunkHead}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n` : '';
  }
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
