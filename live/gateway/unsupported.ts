// Request fields the gateway accepts in OpenAI's API but does not implement are refused by name
// (400, `param` = the field, code `unsupported_parameter`), never silently ignored: a client that asks
// for several choices or penalties must learn that it would get none of them.
//
// A field counts as asked for only when it departs from OpenAI's default (null, penalties 0, n 1, an
// empty logit_bias, response_format {type: "text"} — json_object and json_schema are served —, echo false, ...), so clients
// that spell the defaults out still work. Accepted and ignored, because they do not change the
// output: user, metadata, store, service_tier, prompt_cache_key, safety_identifier and
// stream_options' other keys.
//
// parallel_tool_calls: at most one call per turn is produced (python/mlx_runtime/tools.py: the call
// format is the whole output as one call). Absent or false is served (OpenAI's default only permits
// several calls); an explicit `true` with tools asks for several calls in one answer and is refused by
// name (without tools it asks for nothing).
//
// Tools are served (function tools: tools, tool_choice, assistant tool_calls and tool messages;
// python/mlx_runtime/tools.py); tools of another type than "function" and the legacy functions /
// function_call are refused.
// Fields OpenAI does not define are accepted and ignored (openai-schemas.ts), except the common
// sampling extensions of other servers (vLLM's top_k, min_p, repetition_penalty, guided_*), which
// change the output and are refused like OpenAI's own.
//
// Message content: only `text` parts are served (every model behind the gateway is a text-only MLX
// LM); an image_url, input_audio or file part is refused with code `unsupported_content`, naming the
// part (`messages[i].content[j]`) and saying the model has no such input.
import type { ChatBody, CompletionBody } from './openai-schemas.js';

export interface Refusal {
  readonly code: 'unsupported_parameter' | 'unsupported_content';
  readonly param: string;
  readonly message: string;
}

interface Rule {
  readonly field: string;
  /** Whether the value asks for something (a default value does not). */
  readonly asked: (v: unknown) => boolean;
  readonly what: string;
}

const set = (v: unknown): boolean => v !== undefined && v !== null;
const nonZero = (v: unknown): boolean => set(v) && v !== 0;
const notOne = (v: unknown): boolean => set(v) && v !== 1;
const nonEmptyList = (v: unknown): boolean => set(v) && !(Array.isArray(v) && v.length === 0);
const nonEmptyMap = (v: unknown): boolean => set(v) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
const notNone = (v: unknown): boolean => set(v) && v !== 'none';

/** Shared by chat and completions. */
const SAMPLING_RULES: readonly Rule[] = [
  { field: 'n', asked: notOne, what: 'more than one choice per request (n > 1)' },
  { field: 'logit_bias', asked: nonEmptyMap, what: 'logit_bias' },
  { field: 'frequency_penalty', asked: nonZero, what: 'frequency_penalty other than 0' },
  { field: 'presence_penalty', asked: nonZero, what: 'presence_penalty other than 0' },
  // other servers' sampling extensions
  { field: 'top_k', asked: (v) => set(v) && v !== 0 && v !== -1, what: 'top_k' },
  { field: 'min_p', asked: nonZero, what: 'min_p' },
  { field: 'repetition_penalty', asked: notOne, what: 'repetition_penalty other than 1' },
  { field: 'guided_json', asked: set, what: 'guided decoding (guided_json)' },
  { field: 'guided_regex', asked: set, what: 'guided decoding (guided_regex)' },
  { field: 'guided_choice', asked: set, what: 'guided decoding (guided_choice)' },
  { field: 'guided_grammar', asked: set, what: 'guided decoding (guided_grammar)' },
];

// Structured output is served (constrained decoding in the runtime: python/mlx_runtime/structured.py).
const SERVED_FORMATS: readonly unknown[] = ['text', 'json_object', 'json_schema'];

const CHAT_RULES: readonly Rule[] = [
  {
    field: 'response_format',
    asked: (v) => set(v) && !(typeof v === 'object' && SERVED_FORMATS.includes((v as { type?: unknown }).type)),
    what: 'response_format other than {"type": "text"}, {"type": "json_object"} or {"type": "json_schema"}',
  },
  { field: 'tools', asked: (v) => Array.isArray(v) && v.some((t) => (t as { type?: unknown } | null)?.type !== 'function'), what: 'tools of a type other than "function"' },
  { field: 'functions', asked: nonEmptyList, what: 'functions' },
  { field: 'function_call', asked: notNone, what: 'function_call other than "none"' },
  { field: 'audio', asked: set, what: 'audio output' },
  { field: 'modalities', asked: (v) => set(v) && !(Array.isArray(v) && v.every((m) => m === 'text')), what: 'output modalities other than ["text"]' },
  { field: 'prediction', asked: set, what: 'predicted outputs (prediction)' },
  { field: 'reasoning_effort', asked: set, what: 'reasoning_effort (the models are not reasoning models)' },
  { field: 'verbosity', asked: set, what: 'verbosity' },
  { field: 'web_search_options', asked: set, what: 'web search' },
  ...SAMPLING_RULES,
];

const COMPLETION_RULES: readonly Rule[] = [
  { field: 'echo', asked: (v) => v === true, what: 'echo' },
  { field: 'suffix', asked: (v) => set(v) && v !== '', what: 'suffix (insertion)' },
  { field: 'best_of', asked: notOne, what: 'best_of other than 1' },
  ...SAMPLING_RULES,
];

/** The first field of a chat request that asks for something not implemented, or undefined. */
export function unsupportedInChat(body: ChatBody): Refusal | undefined {
  const b = body as unknown as Record<string, unknown>;
  const field = firstAsked(CHAT_RULES, b);
  if (field !== undefined) return field;
  if (b.parallel_tool_calls === true && Array.isArray(b.tools) && b.tools.length > 0) {
    return refuse('parallel_tool_calls', 'several tool calls in one answer (parallel_tool_calls: true; at most one call per turn is produced: send false or leave it out)');
  }
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i]! as { content?: unknown; tool_calls?: unknown; function_call?: unknown; audio?: unknown };
    if (Array.isArray(m.tool_calls) && m.tool_calls.some((c) => (c as { type?: unknown } | null)?.type !== 'function')) {
      return refuse(`messages[${i}].tool_calls`, 'assistant tool calls of a type other than "function"');
    }
    if (set(m.function_call)) return refuse(`messages[${i}].function_call`, 'assistant function calls in messages');
    if (set(m.audio)) return refuse(`messages[${i}].audio`, 'assistant audio in messages');
    if (!Array.isArray(m.content)) continue;
    for (let j = 0; j < m.content.length; j++) {
      const type = (m.content[j] as { type: string }).type;
      if (type !== 'text') return contentRefusal(body.model, i, j, type);
    }
  }
  return undefined;
}

function contentRefusal(model: unknown, i: number, j: number, type: unknown): Refusal {
  const param = `messages[${i}].content[${j}]`;
  const has = type === 'image_url' ? 'no vision input: images are' : type === 'input_audio' ? 'no audio input: audio is' : undefined;
  const message = has !== undefined
    ? `The model ${JSON.stringify(model)} has ${has} not supported (${param} is of type ${JSON.stringify(type)}); send text only.`
    : `Content parts of type ${JSON.stringify(type)} are not supported (${param}); send text only.`;
  return { code: 'unsupported_content', param, message };
}

/** The first field of a text completion request that asks for something not implemented, or undefined. */
export function unsupportedInCompletion(body: CompletionBody): Refusal | undefined {
  return firstAsked(COMPLETION_RULES, body as unknown as Record<string, unknown>);
}

/**
 * The refusal for a schema bound that means exactly "not supported" — n at most 1, echo never true, a
 * content part's type only "text" (so the OpenAPI document says what is served) — or undefined. The
 * error handler answers such a validation failure with it instead of the schema's wording; other
 * failures of the same field (n: 0) keep the validation message.
 */
export function refusalOfSchemaBound(param: string, keyword: string, body: unknown): Refusal | undefined {
  if (keyword !== 'maximum' && keyword !== 'enum') return undefined;
  const part = /^messages\[(\d+)\]\.content\[(\d+)\]\.type$/.exec(param);
  if (part !== null) {
    const b = body as { model?: unknown; messages?: { content?: { type?: unknown }[] }[] };
    const i = Number(part[1]);
    const j = Number(part[2]);
    return contentRefusal(b.model, i, j, b.messages?.[i]?.content?.[j]?.type);
  }
  const rule = SCHEMA_BOUND_RULES.find((r) => r.field === param);
  return rule === undefined ? undefined : refuse(rule.field, rule.what);
}

const SCHEMA_BOUND_RULES: readonly Rule[] = [...SAMPLING_RULES, ...COMPLETION_RULES].filter((r) => r.field === 'n' || r.field === 'echo');

/**
 * The first rule, in the rules' order, whose field the body asks for. A body names a handful of fields
 * and the rules are some twenty: looking the body's own keys up in an index costs less than probing
 * the body for every rule's field (issue 16). Equivalent because no rule counts an absent field as
 * asked (checked below, at load).
 */
function firstAsked(rules: readonly Rule[], body: Record<string, unknown>): Refusal | undefined {
  const index = RULE_INDEX.get(rules)!;
  let first = -1;
  for (const field in body) {
    const i = index.get(field);
    if (i !== undefined && (first < 0 || i < first) && rules[i]!.asked(body[field])) first = i;
  }
  return first < 0 ? undefined : refuse(rules[first]!.field, rules[first]!.what);
}

const RULE_INDEX = new Map<readonly Rule[], ReadonlyMap<string, number>>(
  [CHAT_RULES, COMPLETION_RULES].map((rules) => [rules, new Map(rules.map((r, i) => [r.field, i]))]),
);
for (const r of [...CHAT_RULES, ...COMPLETION_RULES]) {
  if (r.asked(undefined)) throw new Error(`unsupported.ts: rule ${r.field} counts an absent field as asked`);
}

function refuse(param: string, what: string): Refusal {
  return { code: 'unsupported_parameter', param, message: `${param}: ${what} is not supported by this server.` };
}
