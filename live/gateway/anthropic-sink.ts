// One response in the Anthropic Messages API's formats (what every response shares is sink-base.ts).
//
// Not streamed: {id: "msg_<job>", type: "message", role: "assistant", model, content, stop_reason,
// stop_sequence, usage: {input_tokens, output_tokens}}; content is [{type: "text", text}] ([]
// for an empty answer) or, when the output is a call of a known tool (tool-calls.ts, as for OpenAI),
// [{type: "tool_use", id: "toolu_<job>", name, input}].
// Streamed: Anthropic's events, each `event: <type>\ndata: <json>\n\n`:
//   message_start (usage.input_tokens: the gateway's estimate; the exact count comes in message_delta)
//   content_block_start index 0 ({type: "text", text: ""} or {type: "tool_use", id, name, input: {}})
//   content_block_delta ({type: "text_delta", text} or {type: "input_json_delta", partial_json}) …
//   content_block_stop, message_delta ({stop_reason, stop_sequence}, usage), message_stop
// With tools the text is held until it is known whether it starts a call (ToolCallStream), as for
// OpenAI. An empty answer has no content block. An error once the stream is under way is an
// `event: error` with Anthropic's error body, and the stream ends.
// stop_reason: "tool_use" (a call), "max_tokens" (finish length), "stop_sequence" with stop_sequence
// set to it when one of stop_sequences ended the output (the runtime says which: Done.stop_sequence,
// kept by the caches), otherwise "end_turn".
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { CachedAnswer, Usage, WorkerOutput } from '../../core/index.js';
import { anthropicErrorBody } from './anthropic-mapping.js';
import { errorBody, errorStatus, type AnyErrorCode } from './errors.js';
import type { ToolMode } from './request-mapping.js';
import { SinkBase, type SinkBaseInit, type SinkDeps } from './sink-base.js';
import { parseToolCall, ToolCallStream, type StreamPiece } from './tool-calls.js';

export interface AnthropicSinkInit extends SinkBaseInit {
  readonly model: string;
  /** The gateway's estimate of the prompt's tokens (message_start; Done gives the exact count). */
  readonly inputTokensEstimate: number;
  /** With tools: how calls are reported and the tools' names; absent = no tools. */
  readonly tools?: { readonly mode: ToolMode; readonly names: readonly string[] };
}

type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence';

export class AnthropicSink extends SinkBase {
  private readonly messageId: string;
  private parts: string[] = [];
  private finishReason: 'stop' | 'length' = 'stop';
  private stopSequence: string | undefined;
  /** Streamed with tools (mode auto or forced): splits the output into text or a call's input deltas. */
  private readonly toolStream: ToolCallStream | undefined;
  /** The content block open in the stream (there is at most one, index 0). */
  private block: 'none' | 'text' | 'tool_use' = 'none';

  constructor(reply: FastifyReply, private readonly init: AnthropicSinkInit, deps: SinkDeps) {
    super(reply, init, deps);
    this.messageId = `msg_${init.jobId}`;
    const t = init.tools;
    this.toolStream = init.stream && t !== undefined && t.mode !== 'none' ? new ToolCallStream(t.names, this.toolUseId()) : undefined;
  }

  private toolUseId(): string {
    return `toolu_${this.init.jobId}`;
  }

  protected onTokens(text: string): void {
    if (!this.init.stream) {
      this.parts.push(text);
      return;
    }
    this.ensureSseHeaders();
    this.writePieces(this.toolStream !== undefined ? this.toolStream.push(text) : [{ kind: 'content', text }]);
  }

  workerDone(output: WorkerOutput): void {
    this.finishReason = output.finishReason;
    this.stopSequence = output.stopSequence;
  }

  protected onCachedAnswer(a: CachedAnswer): void {
    this.finishReason = a.finishReason;
    this.stopSequence = a.stopSequence;
    this.parts = [a.text ?? ''];
    if (this.init.stream) this.onTokens(a.text ?? '');
  }

  protected succeed(usage: Usage): void {
    // Anthropic's usage: the prompt tokens the runtime's prefix cache (or the gateway's caches) saved
    // are cache_read_input_tokens (input_tokens stays the whole prompt, as the gateway counts it)
    const u = { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens,
      ...(usage.cachedPromptTokens !== undefined && { cache_read_input_tokens: usage.cachedPromptTokens }) };
    if (!this.init.stream) {
      this.reply.type('application/json; charset=utf-8').send(this.messageJson(this.parts.join(''), u));
      return;
    }
    this.ensureSseHeaders();
    if (this.toolStream !== undefined) this.writePieces(this.toolStream.end());
    let out = this.block === 'none' ? '' : event('content_block_stop', { type: 'content_block_stop', index: 0 });
    const stopReason = this.stopReason(this.toolStream?.isCall === true);
    out += event('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: this.stopSequenceOf(stopReason) }, usage: u });
    out += event('message_stop', { type: 'message_stop' });
    this.endStream(out);
  }

  protected fail(code: AnyErrorCode, message?: string, status?: number, retryAfterMs?: number): void {
    const s = status ?? errorStatus(code);
    const body = anthropicErrorBody(s, message ?? errorBody(code).error.message);
    if (this.headersWritten) this.endStream(event('error', body));
    else this.sendError(body, s, retryAfterMs);
  }

  protected streamHead(): string {
    const message = {
      id: this.messageId, type: 'message', role: 'assistant', model: this.init.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: this.init.inputTokensEstimate, output_tokens: 0 },
    };
    return event('message_start', { type: 'message_start', message });
  }

  private stopReason(isCall: boolean): StopReason {
    if (this.finishReason === 'length') return 'max_tokens';
    if (isCall) return 'tool_use';
    return this.stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
  }

  private stopSequenceOf(reason: StopReason): string | null {
    return reason === 'stop_sequence' ? this.stopSequence! : null;
  }

  private writePieces(pieces: readonly StreamPiece[]): void {
    for (const p of pieces) {
      if (p.kind === 'content') {
        if (p.text === '') continue;
        if (this.block === 'none') this.openBlock('text', { type: 'text', text: '' });
        this.write(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p.text } }));
      } else if (p.kind === 'callStart') {
        this.openBlock('tool_use', { type: 'tool_use', id: p.call.id, name: p.call.function.name, input: {} });
      } else {
        this.write(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: p.text } }));
      }
    }
  }

  private openBlock(kind: 'text' | 'tool_use', contentBlock: object): void {
    this.block = kind;
    this.write(event('content_block_start', { type: 'content_block_start', index: 0, content_block: contentBlock }));
  }

  /**
   * The message as JSON text. A tool_use block's input is the model's own JSON text (the call's
   * arguments), not a re-serialization: integers past 2^53 and the model's spelling of numbers arrive
   * as generated, as they do in the stream's input_json_delta.
   */
  private messageJson(text: string, usage: { input_tokens: number; output_tokens: number }): string {
    const t = this.init.tools;
    const call = t !== undefined && t.mode !== 'none' ? parseToolCall(text, t.names, this.toolUseId()) : undefined;
    const content = call !== undefined
      ? [{ type: 'tool_use', id: call.id, name: call.function.name, input: INPUT_MARK }]
      : text === '' ? [] : [{ type: 'text', text }];
    const stopReason = this.stopReason(call !== undefined);
    const json = JSON.stringify({
      id: this.messageId, type: 'message', role: 'assistant', model: this.init.model, content,
      stop_reason: stopReason, stop_sequence: this.stopSequenceOf(stopReason), usage,
    });
    return call === undefined ? json : json.replace(JSON.stringify(INPUT_MARK), () => call.function.arguments);
  }
}

/** Stands for a tool_use input until the JSON text is spliced in (a NUL and a random nonce: no name or id holds it). */
const INPUT_MARK = `\u0000input-${randomBytes(8).toString('hex')}`;

function event(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
