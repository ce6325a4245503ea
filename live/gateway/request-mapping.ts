// OpenAI request bodies → the core's InferenceRequest, and the core's requests → the proto's
// GenerateRequest. No decisions: a translation.
//
// Prompt tokens are estimated with core's one estimate (core/tokens/estimate.ts: UTF-8 bytes / 3), as
// the worker node estimates for its KV reservation; the runtime reports exact counts in Done, and the
// core uses the estimate for rate limiting and the early context-length check. Prefix blocks hash
// the rendered prompt text — for chat
// "role: content\n" per message — with core's prefixBlocksOfText, as the simulator's cluster does.
import { estimateTokens, prefixBlocksOfText, type ChatMessage, type InferenceRequest, type PromptContent, type SamplingParams, type TokenCandidate, type TokenLogprob } from '../../core/index.js';
import type { LimitsConfig } from '../shared/config.js';
import type { ChatMessageMsg, GenerateRequestMsg, TokenCandidateMsg, TokenLogprobMsg } from '../shared/proto.js';
import type { RequestSink } from './core-driver.js';
import type { ChatBody, CompletionBody, ContentPart, SamplingBody } from './openai-schemas.js';

export interface RequestContext {
  readonly id: string;
  /** Identity of the credential (rate limits), never the key itself. */
  readonly apiKey: string | undefined;
  /** The credential's tenant (auth.tenants, or a JWT's `tenant` claim naming one), for fairness. */
  readonly tenant?: string | undefined;
  readonly sessionId: string | undefined;
  readonly cacheBypass: boolean;
}

const ROLE: Record<string, ChatMessage['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'tool', function: 'tool' };

export function contentText(content: string | null | undefined | ContentPart[]): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const p of content) if (p.type === 'text' && typeof p.text === 'string') out += p.text;
  return out;
}

export function chatRequest(body: ChatBody, ctx: RequestContext, limits: LimitsConfig): InferenceRequest {
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: ROLE[m.role] ?? 'user',
    content: contentText(m.content),
    ...(Array.isArray(m.tool_calls) && m.tool_calls.length > 0 && { toolCalls: JSON.stringify(m.tool_calls) }),
    ...(typeof m.tool_call_id === 'string' && { toolCallId: m.tool_call_id }),
  }));
  let rendered = '';
  for (const m of messages) rendered += `${m.role}: ${m.content}${m.toolCalls ?? ''}\n`;
  if (Array.isArray(body.tools) && body.tools.length > 0) rendered = `tools: ${JSON.stringify(body.tools)}\n${rendered}`;
  return build(ctx, body, { kind: 'messages', messages }, rendered, limits);
}

export function completionRequest(body: CompletionBody, ctx: RequestContext, limits: LimitsConfig): InferenceRequest {
  const text = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
  return build(ctx, body, { kind: 'text', text }, text, limits);
}

/** The sampling parameters, or the name of the offending parameter. */
export function samplingOf(body: SamplingBody, limits: LimitsConfig): SamplingParams | { param: string; message: string } {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? limits.defaultMaxTokens;
  if (maxTokens > limits.maxTokensMax) {
    const param = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    return { param, message: `${param} must be at most ${limits.maxTokensMax}` };
  }
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const logprobs = logprobsOf(body);
  if (typeof logprobs === 'object') return logprobs;
  const responseFormat = responseFormatOf(body);
  if (typeof responseFormat === 'object') return responseFormat;
  return {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    maxTokens,
    ...(body.seed != null && { seed: body.seed }),
    ...(stop !== undefined && stop.length > 0 && { stop }),
    ...(logprobs !== undefined && { logprobs }),
    ...(responseFormat !== undefined && { responseFormat }),
    ...toolsOf(body),
  };
}

/**
 * Tools offered (a non-empty tools array) and tool_choice, as the JSON texts the runtime takes
 * (python/mlx_runtime/tools.py). tool_choice without tools is dropped ("none" and "auto" mean nothing
 * then; "required" and a named function without tools are refused by the route, checkTools).
 */
function toolsOf(body: SamplingBody): { tools?: string; toolChoice?: string } {
  const b = body as { tools?: unknown; tool_choice?: unknown };
  if (!Array.isArray(b.tools) || b.tools.length === 0) return {};
  return { tools: JSON.stringify(b.tools), ...(b.tool_choice !== undefined && b.tool_choice !== null && { toolChoice: JSON.stringify(b.tool_choice) }) };
}

/** How the response reports tool calls: 'none' (never), 'auto' (when the output is one), 'forced'. */
export type ToolMode = 'none' | 'auto' | 'forced';

export function toolModeOf(body: SamplingBody): { mode: ToolMode; names: string[] } {
  const b = body as { tools?: unknown; tool_choice?: unknown };
  if (!Array.isArray(b.tools) || b.tools.length === 0) return { mode: 'none', names: [] };
  const names = (b.tools as { function?: { name?: unknown } }[]).map((t) => t.function?.name).filter((n): n is string => typeof n === 'string');
  const c = b.tool_choice;
  if (c === 'none') return { mode: 'none', names };
  if (c === undefined || c === null || c === 'auto') return { mode: 'auto', names };
  return { mode: 'forced', names };
}

/** A tool_choice that asks for a call this request cannot make (a function not among the tools), or undefined. */
export function toolChoiceProblem(body: SamplingBody): { param: string; message: string } | undefined {
  const b = body as { tools?: unknown; tool_choice?: unknown };
  const c = b.tool_choice;
  if (c === undefined || c === null || c === 'none' || c === 'auto') return undefined;
  const { names } = toolModeOf(body);
  if (names.length === 0) return { param: 'tool_choice', message: 'tool_choice "required" or a named function needs tools' };
  if (c === 'required') return undefined;
  const name = (c as { function?: { name?: unknown } }).function?.name;
  if (typeof c !== 'object' || (c as { type?: unknown }).type !== 'function' || typeof name !== 'string') {
    return { param: 'tool_choice', message: 'tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}' };
  }
  if (!names.includes(name)) return { param: 'tool_choice', message: `tool_choice names the function ${JSON.stringify(name)}, which is not among the tools` };
  return undefined;
}

/**
 * Structured output asked for, as the JSON text the runtime takes (undefined: free text — absent, null
 * or {type: "text"}). json_object as is; json_schema needs `json_schema.schema`, a JSON schema object
 * (its validity is the runtime's to judge: an invalid one is answered 400 naming response_format).
 * Other types are refused by name before this (unsupported.ts).
 */
function responseFormatOf(body: SamplingBody): string | undefined | { param: string; message: string } {
  const rf = (body as { response_format?: unknown }).response_format;
  if (rf === undefined || rf === null || typeof rf !== 'object' || Array.isArray(rf)) return undefined;
  const r = rf as { type?: unknown; json_schema?: unknown };
  if (r.type === 'json_object') return JSON.stringify({ type: 'json_object' });
  if (r.type !== 'json_schema') return undefined;
  const js = r.json_schema as { name?: unknown; schema?: unknown; strict?: unknown } | null | undefined;
  const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(js) || !isObject(js!.schema)) {
    return { param: 'response_format', message: 'response_format.json_schema.schema must be a JSON schema object' };
  }
  return JSON.stringify({ type: 'json_schema', json_schema: { name: js!.name ?? null, schema: js!.schema, strict: js!.strict ?? null } });
}

/**
 * The alternatives asked for per token (undefined: no log-probabilities). Chat: `logprobs: true` and
 * `top_logprobs: N` (N > 0 without logprobs is refused, as OpenAI does); completions: `logprobs: N`. The
 * route schemas admit a boolean for chat and an integer for completions, and bound N to 0..20.
 */
function logprobsOf(body: SamplingBody): number | undefined | { param: string; message: string } {
  const lp = body.logprobs;
  if (typeof lp === 'number') return lp;
  if (lp === true) return body.top_logprobs ?? 0;
  if (body.top_logprobs != null && body.top_logprobs > 0) return { param: 'top_logprobs', message: 'top_logprobs needs logprobs: true' };
  return undefined;
}

function build(ctx: RequestContext, body: SamplingBody, prompt: PromptContent, rendered: string, limits: LimitsConfig): InferenceRequest {
  const sampling = samplingOf(body, limits);
  if ('param' in sampling) throw new Error('samplingOf must be checked by the route first');
  return {
    id: ctx.id,
    model: (body as { model: string }).model,
    prompt,
    promptTokens: Math.max(1, estimateTokens(rendered)),
    prefixBlocks: prefixBlocksOfText(rendered),
    sampling,
    stream: body.stream === true,
    ...(ctx.sessionId !== undefined && { sessionId: ctx.sessionId }),
    ...(ctx.apiKey !== undefined && { apiKey: ctx.apiKey }),
    ...(ctx.tenant !== undefined && { tenant: ctx.tenant }),
    ...(ctx.cacheBypass && { cacheBypass: true }),
  };
}

export function toGenerateRequest(req: InferenceRequest, sink: RequestSink | undefined, traceparent = ''): GenerateRequestMsg {
  const p = req.prompt;
  const s = req.sampling;
  // Optional fields are assigned when present rather than spread in (no intermediate objects per request).
  const msg: GenerateRequestMsg = {
    requestId: req.id,
    model: req.model,
    prompt: p.kind === 'text' ? p.text : '',
    messages: p.kind === 'messages' ? p.messages.map(toChatMessageMsg) : [],
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    topP: s.topP,
    stop: (s.stop as string[] | undefined) ?? [],
    sessionId: req.sessionId ?? '',
    traceId: sink?.traceId ?? '',
    deadlineUnixMs: sink?.deadlineUnixMs ?? 0,
  };
  if (s.seed !== undefined) msg.seed = s.seed;
  if (s.logprobs !== undefined) {
    msg.logprobs = true;
    msg.topLogprobs = s.logprobs;
  }
  if (s.responseFormat !== undefined) msg.responseFormatJson = s.responseFormat;
  if (s.tools !== undefined) msg.toolsJson = s.tools;
  if (s.toolChoice !== undefined) msg.toolChoiceJson = s.toolChoice;
  if (traceparent !== '') msg.traceparent = traceparent;
  return msg;
}

function toChatMessageMsg(m: ChatMessage): ChatMessageMsg {
  const out: ChatMessageMsg = { role: m.role, content: m.content };
  if (m.toolCalls !== undefined) out.toolCallsJson = m.toolCalls;
  if (m.toolCallId !== undefined) out.toolCallId = m.toolCallId;
  return out;
}

/** The worker's per-token log-probabilities (proto) as the core's values. */
export function fromTokenLogprobs(msgs: readonly TokenLogprobMsg[]): TokenLogprob[] {
  return msgs.map((m) => ({ ...candidate(m), topLogprobs: m.topLogprobs.map(candidate) }));
}

function candidate(m: TokenCandidateMsg): TokenCandidate {
  return { token: m.token, bytes: [...m.bytes], logprob: m.logprob };
}
