// Shared value types of the core. Everything here is plain data: immutable inputs to the policies,
// produced by a driver (the simulator's workload generator or the live gateway's HTTP layer).

/** A function returning a number in [0, 1). Injected; core/ never draws randomness of its own. */
export type Rng = () => number;

export type WorkerId = string;
export type RequestId = string;

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  /** An assistant's tool calls (OpenAI's tool_calls array) as JSON text; absent = none. */
  readonly toolCalls?: string;
  /** A tool result (role "tool"): the id of the call it answers. */
  readonly toolCallId?: string;
}

/** What the client asked to be continued: raw text (completions) or chat messages. */
export type PromptContent =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'messages'; readonly messages: readonly ChatMessage[] };

export interface SamplingParams {
  readonly temperature: number;
  readonly topP: number;
  readonly maxTokens: number;
  /** A fixed seed makes a sampled request deterministic, hence shareable. */
  readonly seed?: number;
  readonly stop?: readonly string[];
  /**
   * Log-probabilities asked for: absent = none; N = each output token's log-probability and its N
   * most likely alternatives (0 = the chosen token's only). Part of the output, so of the fingerprint.
   */
  readonly logprobs?: number;
  /**
   * Structured output asked for (OpenAI's response_format, json_object or json_schema) as its JSON
   * text; absent = free text. Constrains the output, so it is part of the fingerprint.
   */
  readonly responseFormat?: string;
  /**
   * Tools offered (OpenAI's tools array) as JSON text, and tool_choice as JSON text; absent = none.
   * Rendered into the prompt and (tool_choice required / named) constraining it: part of the fingerprint.
   */
  readonly tools?: string;
  readonly toolChoice?: string;
}

/** One candidate token and its log-probability (natural log) under the model, before temperature. */
export interface TokenCandidate {
  /** The token's text (a lone byte of a multi-byte character decodes to U+FFFD; `bytes` is exact). */
  readonly token: string;
  readonly bytes: readonly number[];
  readonly logprob: number;
}

/** An output token's log-probability and, when asked for, its most likely alternatives (descending). */
export interface TokenLogprob extends TokenCandidate {
  readonly topLogprobs: readonly TokenCandidate[];
}

export interface InferenceRequest {
  readonly id: RequestId;
  readonly model: string;
  readonly prompt: PromptContent;
  /** Prompt length in tokens (known in sim, estimated or tokenized in live). */
  readonly promptTokens: number;
  /**
   * Hashes of the prompt's consecutive fixed-size blocks (Mooncake-style hash ids; see
   * caching/prefix-blocks.ts). Two prompts share a prefix exactly as far as their block lists agree.
   */
  readonly prefixBlocks: readonly number[];
  readonly sampling: SamplingParams;
  readonly stream: boolean;
  readonly sessionId?: string;
  readonly apiKey?: string;
  /** The tenant the request's credential belongs to (fairness between tenants); absent: the default tenant. */
  readonly tenant?: string;
  /** Skip dedupe, response cache and coalescing for this request. */
  readonly cacheBypass?: boolean;
}
