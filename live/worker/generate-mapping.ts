// A GenerateRequest (proto) checked and mapped onto the runtime's generate params (python/PROTOCOL.md),
// and the runtime's token candidates mapped back onto proto messages: the worker node's request
// mapping, apart from its lifecycle (worker-node.ts).
import type { GenerateRequestMsg, TokenCandidateMsg } from '../shared/proto.js';
import type { ChatMessageParam, GenerateParams, RuntimeTokenCandidate } from './runtime-client.js';

const STOP_MAX_DEFAULT = 16;
/** The runtime's bound on alternatives per token (python/PROTOCOL.md). */
const TOP_LOGPROBS_MAX = 20;

/** A reason the request is malformed, or undefined. */
export function validate(req: GenerateRequestMsg): string | undefined {
  if (req.requestId.length === 0 || req.requestId.length > 256) return 'request_id must be 1–256 characters';
  if (req.model.length === 0) return 'model is required';
  if (req.messages.length === 0 && req.prompt.length === 0) return 'one of prompt or messages is required';
  if (req.messages.length > 0 && req.prompt.length > 0) return 'prompt and messages are exclusive';
  if (!Number.isFinite(req.temperature) || req.temperature < 0) return 'temperature must be a finite number ≥ 0';
  if (!Number.isFinite(req.topP) || req.topP < 0 || req.topP > 1) return 'top_p must be in [0, 1] (0 = unset)';
  if (req.stop.length > STOP_MAX_DEFAULT || req.stop.some((s) => s.length === 0)) return `stop must be at most ${STOP_MAX_DEFAULT} non-empty strings`;
  const top = req.topLogprobs ?? 0;
  if (!Number.isInteger(top) || top < 0 || top > TOP_LOGPROBS_MAX) return `top_logprobs must be an integer in [0, ${TOP_LOGPROBS_MAX}]`;
  if ((req.responseFormatJson ?? '') !== '') {
    let rf: unknown;
    try {
      rf = JSON.parse(req.responseFormatJson!);
    } catch {
      return 'response_format_json must be JSON text';
    }
    if (typeof rf !== 'object' || rf === null || Array.isArray(rf)) return 'response_format_json must be a JSON object';
  }
  if (!jsonOk(req.toolsJson, (v) => Array.isArray(v))) return 'tools_json must be JSON text of an array';
  if (!jsonOk(req.toolChoiceJson, () => true)) return 'tool_choice_json must be JSON text';
  for (const m of req.messages) if (!jsonOk(m.toolCallsJson, (v) => Array.isArray(v))) return 'a message\'s tool_calls_json must be JSON text of an array';
  return undefined;
}

/** Whether optional JSON text (empty or absent = none) parses into a value `ok` accepts. */
function jsonOk(text: string | undefined, ok: (v: unknown) => boolean): boolean {
  if ((text ?? '') === '') return true;
  try {
    return ok(JSON.parse(text!));
  } catch {
    return false;
  }
}

/**
 * The runtime's generate params. proto3 leaves unset scalars at 0, so max_tokens 0 means the node's
 * default and top_p 0 means 1. A seed is mapped into the runtime's [0, 2^53) (OpenAI allows negatives).
 */
export function runtimeParams(req: GenerateRequestMsg, defaultMaxTokens: number): Omit<GenerateParams, 'request_id'> {
  const seed = req.seed === undefined || req.seed === null ? undefined : ((Math.trunc(req.seed) % 2 ** 53) + 2 ** 53) % 2 ** 53;
  return {
    model: req.model,
    ...(req.messages.length > 0 ? { messages: req.messages.map(messageParam) } : { prompt: req.prompt }),
    max_tokens: req.maxTokens > 0 ? req.maxTokens : defaultMaxTokens,
    temperature: req.temperature,
    top_p: req.topP > 0 ? req.topP : 1,
    ...(seed !== undefined && { seed }),
    ...(req.stop.length > 0 && { stop: req.stop }),
    ...(req.sessionId.length > 0 && { session_id: req.sessionId }),
    ...(req.logprobs === true && { logprobs: true, top_logprobs: req.topLogprobs ?? 0 }),
    ...((req.responseFormatJson ?? '') !== '' && { response_format: JSON.parse(req.responseFormatJson!) as unknown }),
    ...((req.toolsJson ?? '') !== '' && { tools: JSON.parse(req.toolsJson!) as unknown }),
    ...((req.toolChoiceJson ?? '') !== '' && { tool_choice: JSON.parse(req.toolChoiceJson!) as unknown }),
    ...((req.traceparent ?? '') !== '' && { traceparent: req.traceparent }),
  };
}

function messageParam(m: GenerateRequestMsg['messages'][number]): ChatMessageParam {
  return {
    role: m.role,
    content: m.content,
    ...((m.toolCallsJson ?? '') !== '' && { tool_calls: JSON.parse(m.toolCallsJson!) as unknown }),
    ...((m.toolCallId ?? '') !== '' && { tool_call_id: m.toolCallId }),
  };
}

export function candidateMsg(c: RuntimeTokenCandidate): TokenCandidateMsg {
  return { token: c.token, bytes: Uint8Array.from(c.bytes), logprob: c.logprob };
}
