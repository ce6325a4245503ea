// One streamed chat completion over HTTP (OpenAI API, `stream: true`), timed on the client:
//   TTFT = first content chunk − request sent; ITL = gaps between successive content chunks;
//   E2E  = last byte − request sent.
// Completion tokens come from the final `usage` chunk (both the gateway and mlx_lm.server send it
// with `stream_options.include_usage`), else the number of content chunks.
import { SseParser } from './sse.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatCall {
  readonly url: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
  readonly temperature: number;
  readonly sessionId?: string;
  readonly timeoutMs: number;
  /** Aborts the call (the run is being torn down). */
  readonly signal?: AbortSignal;
}

export type OutcomeKind = 'ok' | 'rejected' | 'failed';

export interface ChatOutcome {
  readonly kind: OutcomeKind;
  readonly status: number;
  readonly error?: string;
  /**
   * Why it did not succeed, as a stable code for counting: the `error.code` of the server's error
   * body or stream error (the gateway's: worker_error, queue_full, queue_timeout, overloaded,
   * no_healthy_worker, …), else `http_<status>`, `stream_error`, `stream_incomplete`, `timeout`,
   * `aborted`, `network_error`, `client_overload`.
   */
  readonly code?: string;
  /** Clock readings (ms, performance.now()). */
  readonly sentMs: number;
  readonly firstTokenMs: number | undefined;
  readonly endMs: number;
  /** Arrival times of the content chunks (ms). */
  readonly chunkMs: readonly number[];
  readonly text: string;
  readonly completionTokens: number;
  readonly promptTokens: number | undefined;
  readonly cachedTokens: number | undefined;
}

/** Bound on the text kept from one answer (it is sent back in the next turn of a session). */
const ANSWER_CHARS_MAX = 1_000_000;

interface StreamChunk {
  readonly choices?: readonly { readonly delta?: { readonly content?: string | null } }[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number; readonly prompt_tokens_details?: { readonly cached_tokens?: number } };
  readonly error?: { readonly message?: string; readonly code?: unknown } | string;
}

/** The `error.code` of an OpenAI-style error body ({error: {code}}), if it is a non-empty string. */
export function errorCodeOf(body: unknown): string | undefined {
  const e = (body as { error?: unknown } | null | undefined)?.error;
  const c = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof c === 'string' && c.length > 0 && c.length <= 64 ? c : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function streamChat(call: ChatCall, now: () => number = () => performance.now()): Promise<ChatOutcome> {
  const sentMs = now();
  const chunkMs: number[] = [];
  let text = '';
  let firstTokenMs: number | undefined;
  let usage: StreamChunk['usage'];
  let status = 0;
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout]);
  const end = (kind: OutcomeKind, error?: string, code?: string): ChatOutcome => ({
    kind, status, ...(error !== undefined && { error }), ...(code !== undefined && { code }), sentMs, firstTokenMs, endMs: now(), chunkMs, text,
    completionTokens: usage?.completion_tokens ?? chunkMs.length, promptTokens: usage?.prompt_tokens, cachedTokens: usage?.prompt_tokens_details?.cached_tokens,
  });
  try {
    const res = await fetch(call.url, {
      method: 'POST',
      signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(call.apiKey !== undefined && { authorization: `Bearer ${call.apiKey}` }),
        ...(call.sessionId !== undefined && { 'x-session-id': call.sessionId }),
      },
      body: JSON.stringify({
        model: call.model, messages: call.messages, max_tokens: call.maxTokens, temperature: call.temperature,
        stream: true, stream_options: { include_usage: true },
      }),
    });
    status = res.status;
    if (!res.ok || res.body === null) {
      const body = await res.text().catch(() => '');
      return end(res.status === 429 || res.status === 503 ? 'rejected' : 'failed', `HTTP ${res.status}: ${body.slice(0, 300)}`, errorCodeOf(parseJson(body)) ?? `http_${res.status}`);
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let done = false;
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (const data of parser.push(decoder.decode(bytes, { stream: true }))) {
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const c = JSON.parse(data) as StreamChunk;
        if (c.error !== undefined) return end('failed', `stream error: ${typeof c.error === 'string' ? c.error : (c.error.message ?? JSON.stringify(c.error))}`, errorCodeOf(c) ?? 'stream_error');
        if (c.usage !== undefined && c.usage !== null) usage = c.usage;
        const piece = c.choices?.[0]?.delta?.content;
        if (typeof piece === 'string' && piece.length > 0) {
          const t = now();
          firstTokenMs ??= t;
          chunkMs.push(t);
          if (text.length < ANSWER_CHARS_MAX) text += piece;
        }
      }
    }
    return done ? end('ok') : end('failed', 'stream ended without [DONE]', 'stream_incomplete');
  } catch (e) {
    const err = e as Error;
    const why = timeout.aborted ? `timed out after ${call.timeoutMs} ms` : call.signal?.aborted === true ? 'aborted' : `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`;
    return end('failed', why, timeout.aborted ? 'timeout' : call.signal?.aborted === true ? 'aborted' : 'network_error');
  }
}
