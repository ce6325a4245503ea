// JSON schemas of the Anthropic Messages API route (POST /v1/messages): the request as Fastify validates
// it (ajv, no coercion; fields Anthropic defines that are not implemented — top_k, thinking … — are
// not in it and are refused by name in anthropic-mapping.ts, others accepted and ignored), the response
// as it is serialized, and the error shape {type: "error", error: {type, message}}. Some refusals
// depend on more than one field (a block's type and its message's role, a final assistant message,
// tool_choice naming a tool not among the tools), which a JSON schema cannot say: schemathesis.test.ts
// runs this route without its "schema-valid request accepted" check.
import type { SchemaLimits } from './openai-schemas.js';

/** Most tools one request may offer. */
export const ANTHROPIC_TOOLS_MAX = 128;

// A content block: its type decides which fields it has (anthropic-mapping.ts reads and refuses them).
const block = { type: 'object', required: ['type'], properties: { type: { type: 'string', maxLength: 64 }, text: { type: 'string' } } } as const;
const content = { anyOf: [{ type: 'string' }, { type: 'array', maxItems: 256, items: block }] } as const;

export function messagesRequestSchema(l: SchemaLimits) {
  return {
    type: 'object',
    required: ['model', 'max_tokens', 'messages'],
    properties: {
      model: { type: 'string', minLength: 1, maxLength: 256 },
      max_tokens: { type: 'integer', minimum: 1, maximum: l.maxTokensMax },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: l.messagesMax,
        items: { type: 'object', required: ['role', 'content'], properties: { role: { type: 'string', enum: ['user', 'assistant'] }, content } },
      },
      system: content,
      temperature: { type: 'number', minimum: 0, maximum: 1 },
      top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      stop_sequences: { type: 'array', maxItems: l.stopSequencesMax, items: { type: 'string', minLength: 1, maxLength: l.stopLengthMax } },
      stream: { type: 'boolean' },
      tools: {
        type: 'array',
        maxItems: ANTHROPIC_TOOLS_MAX,
        items: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, description: { type: 'string' }, input_schema: { type: 'object' }, type: { type: 'string' } },
        },
      },
      tool_choice: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', enum: ['auto', 'any', 'tool', 'none'] }, name: { type: 'string', minLength: 1 }, disable_parallel_tool_use: { type: 'boolean' } },
      },
      metadata: { type: 'object', properties: { user_id: { type: ['string', 'null'], maxLength: 256 } } },
    },
  } as const;
}

export const ANTHROPIC_ERROR_SCHEMA = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    error: { type: 'object', properties: { type: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

export const MESSAGE_RESPONSE_SCHEMA = {
  200: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      type: { type: 'string' },
      role: { type: 'string' },
      model: { type: 'string' },
      content: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            text: { type: 'string' },
            id: { type: 'string' },
            name: { type: 'string' },
            input: { type: 'object', additionalProperties: true },
          },
        },
      },
      stop_reason: { type: ['string', 'null'] },
      stop_sequence: { type: ['string', 'null'] },
      usage: { type: 'object', properties: { input_tokens: { type: 'integer' }, output_tokens: { type: 'integer' }, cache_read_input_tokens: { type: 'integer' } } },
    },
  },
  '4xx': ANTHROPIC_ERROR_SCHEMA,
  '5xx': ANTHROPIC_ERROR_SCHEMA,
} as const;

// ───────────────────────────── request body types (what the schema admits) ─────────────────────────────

/** A content block; the fields beyond `type` depend on it. */
export interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | AnthropicBlock[];
  is_error?: boolean;
  [field: string]: unknown;
}

export interface MessagesBody {
  model: string;
  max_tokens: number;
  messages: { role: 'user' | 'assistant'; content: string | AnthropicBlock[] }[];
  system?: string | AnthropicBlock[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  tools?: { name: string; description?: string; input_schema?: Record<string, unknown>; type?: string; [field: string]: unknown }[];
  tool_choice?: { type: 'auto' | 'any' | 'tool' | 'none'; name?: string; disable_parallel_tool_use?: boolean };
  metadata?: { user_id?: string | null };
  [field: string]: unknown;
}
