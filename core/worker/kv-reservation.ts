// The KV a request reserves when a worker admits it, and what the worker does when it cannot now.
// Written once for the live worker node and the simulator's worker (issue 13).
//
// Reservation: prompt tokens + max_tokens, the most the sequence can hold in KV, reserved before its
// prefill and held until it leaves the batch (the runtime admits on the same worst case). The worker
// does not know the output length in advance, so it must not reserve less: the simulator once reserved
// prompt + the workload's true output length, and so admitted more than a live node would.
// The prompt, where no tokenizer has seen it yet (the live node, before its runtime tokenizes), is
// core's one estimate (core/tokens/estimate.ts: UTF-8 bytes / 3); a chat message adds
// MESSAGE_TEMPLATE_BYTES for its role and template markers.
import { estimateTokensOfBytes, utf8Length } from '../tokens/estimate.js';

/** Bytes a chat message's role and template markers add to its content (an estimate, on the high side). */
export const MESSAGE_TEMPLATE_BYTES = 8;

/** Estimated prompt tokens of a text prompt, or of chat messages' contents (one of the two is used: messages when any). */
export function estimatePromptTokens(prompt: string, messageContents: readonly string[]): number {
  if (messageContents.length === 0) return estimateTokensOfBytes(utf8Length(prompt));
  let bytes = 0;
  for (const c of messageContents) bytes += utf8Length(c) + MESSAGE_TEMPLATE_BYTES;
  return estimateTokensOfBytes(bytes);
}

/** Tokens of KV reserved at admission: reserveTokens = promptTokens + maxTokens. */
export function kvReserveTokens(promptTokens: number, maxTokens: number): number {
  if (!(promptTokens >= 0) || !(maxTokens >= 0)) throw new Error(`kvReserveTokens: promptTokens and maxTokens must be >= 0 (got ${promptTokens}, ${maxTokens})`);
  return promptTokens + maxTokens;
}

export interface KvShortfall {
  /** The reservation's bytes as the governor counts them in an empty node (its batch layout included). */
  readonly aloneBytes: number;
  readonly capacityBytes: number;
  /** How long a request may wait for KV to free up (0: never waits). */
  readonly kvWaitMs: number;
  /** Requests already waiting for KV, and the bound on them. */
  readonly waiting: number;
  readonly waitingMax: number;
}

export type KvShortfallDecision =
  | { readonly kind: 'wait' }
  | { readonly kind: 'refuse'; readonly code: 'kv_exceeds_capacity' | 'kv_capacity'; readonly reason: string };

/**
 * The governor cannot reserve a request's KV now. Refused with `kv_exceeds_capacity` (a client fault)
 * when it would not fit even in an empty node; with `kv_capacity` when waiting is off or the waiters
 * are at their bound; otherwise it waits, first come first served, for running requests to free KV.
 */
export function onKvShortfall(s: KvShortfall): KvShortfallDecision {
  if (s.aloneBytes > s.capacityBytes) return { kind: 'refuse', code: 'kv_exceeds_capacity', reason: 'it would not fit even in an empty node' };
  if (s.kvWaitMs <= 0) return { kind: 'refuse', code: 'kv_capacity', reason: 'waiting for KV is off (kvWaitMs 0)' };
  if (s.waiting >= s.waitingMax) return { kind: 'refuse', code: 'kv_capacity', reason: `${s.waiting} requests already wait for KV (kvWaitingMax ${s.waitingMax})` };
  return { kind: 'wait' };
}
