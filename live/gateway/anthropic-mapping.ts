// The Anthropic Messages API's request → the OpenAI chat body the gateway serves, so that both APIs
// take the one path (the same checks, InferenceRequest, core and worker; anthropic-routes.ts). A
// translation, no decisions:
//
//   system (text or text blocks)        → a system message first
//   user text blocks                    → a user message
//   user tool_result blocks             → tool messages (tool_call_id = tool_use_id; is_error: the
//                                         content prefixed "Error: "), before the user's text
//   assistant text + tool_use blocks    → an assistant message with tool_calls (arguments = the
//                                         input as JSON)
//   max_tokens, temperature, top_p      → the same; stop_sequences → stop; metadata.user_id → user
//                                         (the session when there is no x-session-id)
//   tools {name, description, input_schema} → function tools; tool_choice auto / any / tool / none →
//                                         "auto" / "required" / a named function / "none"
//
// Refused by name (400, the field in `param` and in the message), never ignored: top_k, thinking
// (other than disabled), mcp_servers, container, context_management, output_format / output_config,
// server tools (a tool with a type other than "custom"), and content blocks other than text,
// tool_use (assistant) and tool_result (user) — an image answers that the model has no vision input,
// a document that it has no document input. A conversation that ends with an assistant message
// (prefill: Anthropic continues that turn) is refused: the chat template would start a new turn.
// At most one tool call per turn is produced: tool_choice.disable_parallel_tool_use absent or true is
// served, an explicit false with tools (asking for several calls in one answer) is refused by name, as
// OpenAI's parallel_tool_calls: true is.
// Accepted and ignored because they do not change the output: cache_control (the worker's prompt
// cache is automatic), citations on text blocks, service_tier, metadata, anthropic-version /
// anthropic-beta headers.
import type { AnyErrorCode } from './errors.js';
import type { AnthropicBlock, MessagesBody } from './anthropic-schemas.js';
import type { ChatBody } from './openai-schemas.js';

export interface MappingError {
  readonly code: Extract<AnyErrorCode, 'unsupported_parameter' | 'unsupported_content' | 'invalid_request'>;
  readonly param: string;
  readonly message: string;
}

type ChatMessage = ChatBody['messages'][number];

const set = (v: unknown): boolean => v !== undefined && v !== null;

/** Anthropic's top-level fields that ask for something not implemented, with what they ask for. */
const UNSUPPORTED: readonly { field: string; asked: (v: unknown) => boolean; what: string }[] = [
  { field: 'top_k', asked: set, what: 'top_k sampling' },
  { field: 'thinking', asked: (v) => set(v) && (v as { type?: unknown }).type !== 'disabled', what: 'extended thinking (the models are not reasoning models)' },
  { field: 'mcp_servers', asked: (v) => set(v) && !(Array.isArray(v) && v.length === 0), what: 'MCP servers' },
  { field: 'container', asked: set, what: 'containers (code execution)' },
  { field: 'context_management', asked: set, what: 'context management' },
  { field: 'output_format', asked: set, what: 'output_format (structured output is served on /v1/chat/completions as response_format)' },
  { field: 'output_config', asked: set, what: 'output_config' },
];

const unsupported = (param: string, what: string): MappingError => ({ code: 'unsupported_parameter', param, message: `${param}: ${what} is not supported by this server.` });
const invalid = (param: string, message: string): MappingError => ({ code: 'invalid_request', param, message });

/** The chat body a Messages request stands for, or why it cannot be served. */
export function chatBodyOf(body: MessagesBody): ChatBody | MappingError {
  for (const r of UNSUPPORTED) if (r.asked(body[r.field])) return unsupported(r.field, r.what);
  const tools = toolsOf(body);
  if (!Array.isArray(tools)) return tools;
  if (body.tool_choice?.disable_parallel_tool_use === false && tools.length > 0) {
    return unsupported('tool_choice.disable_parallel_tool_use', 'several tool calls in one answer (disable_parallel_tool_use: false; at most one call per turn is produced: send true or leave it out)');
  }
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    const system = textOf(body.system, 'system', body.model);
    if (typeof system !== 'string') return system;
    if (system !== '') messages.push({ role: 'system', content: system });
  }
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i]!;
    const mapped = m.role === 'user' ? userMessages(m.content, i, body.model) : assistantMessage(m.content, i, body.model);
    if (!Array.isArray(mapped)) return mapped;
    messages.push(...mapped);
  }
  const last = body.messages.length - 1;
  if (body.messages[last]!.role === 'assistant') {
    return unsupported(`messages[${last}]`, 'a final assistant message (prefill, continuing the assistant\'s turn)');
  }
  return {
    model: body.model,
    messages,
    max_tokens: body.max_tokens,
    ...(body.temperature !== undefined && { temperature: body.temperature }),
    ...(body.top_p !== undefined && { top_p: body.top_p }),
    ...(body.stop_sequences !== undefined && body.stop_sequences.length > 0 && { stop: body.stop_sequences }),
    ...(body.stream === true && { stream: true }),
    ...(typeof body.metadata?.user_id === 'string' && body.metadata.user_id !== '' && { user: body.metadata.user_id }),
    ...(tools.length > 0 && { tools }),
    ...(body.tool_choice !== undefined && { tool_choice: toolChoiceOf(body.tool_choice) }),
  };
}

function toolsOf(body: MessagesBody): unknown[] | MappingError {
  const out: unknown[] = [];
  for (let i = 0; i < (body.tools ?? []).length; i++) {
    const t = body.tools![i]!;
    if (t.type !== undefined && t.type !== 'custom') return unsupported(`tools[${i}]`, `server tools (type ${JSON.stringify(t.type)})`);
    if (typeof t.input_schema !== 'object' || t.input_schema === null) return invalid(`tools[${i}].input_schema`, `tools[${i}].input_schema: a JSON schema object is required.`);
    out.push({ type: 'function', function: { name: t.name, ...(t.description !== undefined && { description: t.description }), parameters: t.input_schema } });
  }
  return out;
}

function toolChoiceOf(c: NonNullable<MessagesBody['tool_choice']>): unknown {
  if (c.type === 'any') return 'required';
  if (c.type === 'tool') return { type: 'function', function: { name: c.name } };
  return c.type; // auto, none
}

/** The text of a string or of text blocks (system, tool_result content), or why not. */
function textOf(content: string | AnthropicBlock[], param: string, model: string): string | MappingError {
  if (typeof content === 'string') return content;
  let out = '';
  if (!Array.isArray(content)) return invalid(param, `${param}: a string or an array of text blocks is required.`);
  for (let j = 0; j < content.length; j++) {
    const b = content[j] as AnthropicBlock | null;
    if (typeof b !== 'object' || b === null || b.type !== 'text') return contentError(`${param}[${j}]`, b?.type, model);
    if (typeof b.text !== 'string') return invalid(`${param}[${j}].text`, `${param}[${j}].text: a string is required.`);
    out += b.text;
  }
  return out;
}

function userMessages(content: string | AnthropicBlock[], i: number, model: string): ChatMessage[] | MappingError {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const out: ChatMessage[] = [];
  let text = '';
  let hasText = false;
  for (let j = 0; j < content.length; j++) {
    const b = content[j]!;
    const param = `messages[${i}].content[${j}]`;
    if (b.type === 'text') {
      text += b.text ?? '';
      hasText = true;
    } else if (b.type === 'tool_result') {
      if (typeof b.tool_use_id !== 'string') return invalid(`${param}.tool_use_id`, `${param}.tool_use_id: a string is required.`);
      const result = textOf(b.content ?? '', `${param}.content`, model);
      if (typeof result !== 'string') return result;
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error === true ? `Error: ${result}` : result });
    } else {
      return contentError(param, b.type, model);
    }
  }
  if (hasText || out.length === 0) out.push({ role: 'user', content: text });
  return out;
}

function assistantMessage(content: string | AnthropicBlock[], i: number, model: string): ChatMessage[] | MappingError {
  if (typeof content === 'string') return [{ role: 'assistant', content }];
  let text = '';
  const calls: unknown[] = [];
  for (let j = 0; j < content.length; j++) {
    const b = content[j]!;
    const param = `messages[${i}].content[${j}]`;
    if (b.type === 'text') {
      text += b.text ?? '';
    } else if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || typeof b.name !== 'string') return invalid(param, `${param}: a tool_use block needs an id and a name.`);
      if (typeof b.input !== 'object' || b.input === null || Array.isArray(b.input)) return invalid(`${param}.input`, `${param}.input: an object is required.`);
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
    } else {
      return contentError(param, b.type, model);
    }
  }
  return [{ role: 'assistant', content: calls.length > 0 && text === '' ? null : text, ...(calls.length > 0 && { tool_calls: calls }) }];
}

function contentError(param: string, type: unknown, model: string): MappingError {
  const has = type === 'image' ? 'no vision input: images are' : type === 'document' ? 'no document input: documents are' : undefined;
  const message = has !== undefined
    ? `The model ${JSON.stringify(model)} has ${has} not supported (${param} is of type ${JSON.stringify(type)}); send text only.`
    : `Content blocks of type ${JSON.stringify(type)} are not supported here (${param}); send text, tool_use (assistant) or tool_result (user) blocks.`;
  return { code: 'unsupported_content', param, message };
}

/** Anthropic's error `type` for an HTTP status (its error shape has no code or param). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401: return 'authentication_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503: case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** {type: "error", error: {type, message}}. */
export function anthropicErrorBody(status: number, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(status), message } };
}
