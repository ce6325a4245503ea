// Builds InferenceRequest-compatible requests with Mooncake-style prefix blocks.
// Block ids: every new block of content gets a fresh id from a counter, so a shared id means a shared
// prefix (ids are chained in meaning: block i's id stands for the whole prefix up to i). Only complete
// 64-token blocks are listed (as core's prefixBlocksOfText lists only complete blocks).
//   - a shared system prompt (sharedPrefixTokens) contributes the same leading blocks to every prompt;
//   - a session's next turn = previous prompt + previous output + new user message: its blocks repeat
//     every complete block of the previous context, then continue with fresh ids;
//   - a duplicate repeats a hot prompt exactly: same text, blocks, lengths and sampling (temperature 0).
//   - with `constrained`, a share of requests ask for structured output (sampling.responseFormat
//     json_object), drawn from their own stream so that every other draw is the same with or without.
// Prompt text is synthetic and identifies the content: identical prompts have identical text.
import type { InferenceRequest, Rng, SamplingParams } from '../../core/types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
import { PREFIX_BLOCK_TOKENS, PREFIX_BLOCKS_MAX, type SimRequest } from './types.js';

export interface SessionState {
  readonly sessionId: string;
  turn: number;
  turnsTotal: number;
  /** Complete blocks of the conversation so far (prompt + output of the last turn). */
  blocks: number[];
  contextTokens: number;
}

export interface HotPrompt {
  readonly index: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly blocks: readonly number[];
  readonly constrained: boolean;
}

/** The response_format a constrained request of the workload asks for (its JSON text, as live sends it). */
export const CONSTRAINED_RESPONSE_FORMAT = '{"type":"json_object"}';

export class RequestFactory {
  private requestSeq = 0;
  private blockSeq = 1;
  private sessionSeq = 0;
  private readonly sharedBlocks: number[];

  constructor(private readonly opts: { model: string; idPrefix: string; temperature: number; stream: boolean; sharedPrefixTokens: number; constrained?: { ratio: number; rng: Rng }; tenant?: string }) {
    this.sharedBlocks = this.freshBlocks([], Math.floor(opts.sharedPrefixTokens / PREFIX_BLOCK_TOKENS));
  }

  /** Extends `prefix` with fresh block ids up to `count` complete blocks (bounded). */
  private freshBlocks(prefix: readonly number[], count: number): number[] {
    const n = Math.min(count, PREFIX_BLOCKS_MAX);
    const out = prefix.slice(0, Math.min(prefix.length, n));
    while (out.length < n) out.push(this.blockSeq++);
    return out;
  }

  /** Whether the next request asks for structured output (false without `constrained`: no draw). */
  private drawConstrained(): boolean {
    const c = this.opts.constrained;
    return c !== undefined && c.rng() < c.ratio;
  }

  private build(arrivalMs: number, text: string, promptTokens: number, outputTokens: number, blocks: readonly number[], temperature: number, sessionId?: string, constrained = this.drawConstrained()): SimRequest {
    // Optional fields are set one by one in the order the object spreads used to add them (a spread is
    // a runtime call per field; this runs once per request, issue 21): the same keys in the same order.
    const sampling: Mutable<SamplingParams> = { temperature, topP: 1, maxTokens: outputTokens };
    if (constrained) sampling.responseFormat = CONSTRAINED_RESPONSE_FORMAT;
    const request: Mutable<InferenceRequest> = {
      id: `${this.opts.idPrefix}${this.requestSeq++}`,
      model: this.opts.model,
      prompt: { kind: 'text', text },
      promptTokens,
      prefixBlocks: blocks,
      sampling,
      stream: this.opts.stream,
    };
    if (sessionId !== undefined) request.sessionId = sessionId;
    if (this.opts.tenant !== undefined) request.tenant = this.opts.tenant;
    return { arrivalMs, request, outputTokens };
  }

  /** A one-off prompt (shares only the system prompt). */
  fresh(arrivalMs: number, promptTokens: number, outputTokens: number): SimRequest {
    const total = this.opts.sharedPrefixTokens + promptTokens;
    const blocks = this.freshBlocks(this.sharedBlocks, Math.floor(total / PREFIX_BLOCK_TOKENS));
    return this.build(arrivalMs, `synthetic:u${this.requestSeq}:${total}`, total, outputTokens, blocks, this.opts.temperature);
  }

  newSession(turnsTotal: number): SessionState {
    return { sessionId: `${this.opts.idPrefix}s${this.sessionSeq++}`, turn: 0, turnsTotal, blocks: this.sharedBlocks.slice(), contextTokens: this.opts.sharedPrefixTokens };
  }

  /** The session's next turn: its context so far plus `newTokens` (first turn: the first prompt). */
  sessionTurn(s: SessionState, arrivalMs: number, newTokens: number, outputTokens: number): SimRequest {
    const promptTokens = s.contextTokens + newTokens;
    const blocks = this.freshBlocks(s.blocks, Math.floor(promptTokens / PREFIX_BLOCK_TOKENS));
    const req = this.build(arrivalMs, `synthetic:${s.sessionId}:t${s.turn}:${promptTokens}`, promptTokens, outputTokens, blocks, this.opts.temperature, s.sessionId);
    s.turn++;
    s.contextTokens = promptTokens + outputTokens;
    s.blocks = this.freshBlocks(blocks, Math.floor(s.contextTokens / PREFIX_BLOCK_TOKENS));
    return req;
  }

  hotPrompt(index: number, promptTokens: number, outputTokens: number): HotPrompt {
    const total = this.opts.sharedPrefixTokens + promptTokens;
    return { index, promptTokens: total, outputTokens, blocks: this.freshBlocks(this.sharedBlocks, Math.floor(total / PREFIX_BLOCK_TOKENS)), constrained: this.drawConstrained() };
  }

  duplicate(h: HotPrompt, arrivalMs: number): SimRequest {
    return this.build(arrivalMs, `synthetic:hot${h.index}:${h.promptTokens}`, h.promptTokens, h.outputTokens, h.blocks, 0, undefined, h.constrained);
  }

  /** A replayed request with given blocks (traces). */
  replay(arrivalMs: number, promptTokens: number, outputTokens: number, blocks: readonly number[] | undefined): SimRequest {
    const b = blocks ?? this.freshBlocks([], Math.floor(promptTokens / PREFIX_BLOCK_TOKENS));
    const text = blocks ? `synthetic:blocks:${b.join('.')}:${promptTokens}` : `synthetic:u${this.requestSeq}:${promptTokens}`;
    return this.build(arrivalMs, text, promptTokens, outputTokens, b.length > PREFIX_BLOCKS_MAX ? b.slice(0, PREFIX_BLOCKS_MAX) : b, this.opts.temperature);
  }
}
