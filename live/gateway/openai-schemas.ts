// JSON schemas of the OpenAI-compatible routes: requests are validated by Fastify (ajv, no type
// coercion), responses serialized by fast-json-stringify. Fields OpenAI does not define are accepted
// and ignored (clients send many optional ones); the ones we read are checked; OpenAI's fields that
// are not implemented are refused by name (unsupported.ts).
import { ERROR_SCHEMA } from './errors.js';

import type { LimitsConfig } from '../shared/config.js';

const nullable = (t: string) => ({ type: [t, 'null'] });

/** The limits a request schema enforces (each refusal is a 400 naming the param). */
export type SchemaLimits = Pick<LimitsConfig, 'maxTokensMax' | 'messagesMax' | 'stopSequencesMax' | 'stopLengthMax'>;

/** Most alternatives per token a request may ask for (OpenAI's chat bound; its completions stop at 5). */
export const TOP_LOGPROBS_MAX = 20;

function sampling(l: SchemaLimits) {
  const stopString = { type: 'string', maxLength: l.stopLengthMax };
  return {
    max_tokens: { type: ['integer', 'null'], minimum: 1, maximum: l.maxTokensMax },
    max_completion_tokens: { type: ['integer', 'null'], minimum: 1, maximum: l.maxTokensMax },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
    seed: { type: ['integer', 'null'], minimum: -9007199254740991, maximum: 9007199254740991 },
    stop: { anyOf: [stopString, { type: 'array', items: stopString, maxItems: l.stopSequencesMax }, { type: 'null' }] },
    stream: nullable('boolean'),
    stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
    // n > 1: refused by name, as not supported (the error handler renders unsupported.ts's message)
    n: { type: ['integer', 'null'], minimum: 1, maximum: 1 },
    user: { type: 'string', maxLength: 256 },
  } as const;
}

// Only text is served: another part type (image_url, input_audio, file) is refused by name, saying the
// model has no such input (unsupported.ts renders the message).
const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
} as const;

export function chatRequestSchema(l: SchemaLimits) {
  return {
    type: 'object',
    required: ['model', 'messages'],
    properties: {
      model: { type: 'string', minLength: 1, maxLength: 256 },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: l.messagesMax,
        items: {
          type: 'object',
          required: ['role'],
          properties: {
            role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
            content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', maxItems: 256, items: contentPart }] },
            name: { type: 'string', maxLength: 256 },
          },
        },
      },
      ...sampling(l),
      logprobs: nullable('boolean'),
      top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: TOP_LOGPROBS_MAX },
    },
    // top_logprobs > 0 needs logprobs: true (as OpenAI has it); the message: CONDITIONAL_MESSAGES
    if: { not: { required: ['logprobs'], properties: { logprobs: { const: true } } } },
    then: { properties: { top_logprobs: { type: ['integer', 'null'], maximum: 0 } } },
  } as const;
}

/** Messages for failures of a schema's if/then rules, by ajv schemaPath (ajv's own would say "must be <= 0"). */
export const CONDITIONAL_MESSAGES: Readonly<Record<string, string>> = {
  '#/then/properties/top_logprobs/maximum': 'Invalid top_logprobs: top_logprobs > 0 needs logprobs: true.',
};

export function completionRequestSchema(l: SchemaLimits) {
  return {
    type: 'object',
    required: ['model', 'prompt'],
    properties: {
      model: { type: 'string', minLength: 1, maxLength: 256 },
      prompt: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 }] },
      echo: { type: ['boolean', 'null'], enum: [false, null] }, // echo: true is not supported (as n)
      ...sampling(l),
      logprobs: { type: ['integer', 'null'], minimum: 0, maximum: TOP_LOGPROBS_MAX },
    },
  } as const;
}

export function embeddingRequestSchema(inputsMax: number) {
  return {
    type: 'object',
    required: ['model', 'input'],
    properties: {
      model: { type: 'string', minLength: 1, maxLength: 256 },
      input: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: inputsMax }] },
      encoding_format: { type: 'string', enum: ['float', 'base64'] },
      // dimensions is not in the schema: only the model's own count is served, known after the call
      // (openai-routes.ts refuses any other by name).
      user: { type: 'string', maxLength: 256 },
    },
  } as const;
}

const usage = {
  type: 'object',
  properties: {
    prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' }, total_tokens: { type: 'integer' },
    prompt_tokens_details: { type: 'object', properties: { cached_tokens: { type: 'integer' } } },
  },
} as const;

const errorResponses = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA } as const;

const candidate = { type: 'object', properties: { token: { type: 'string' }, logprob: { type: 'number' }, bytes: { type: 'array', items: { type: 'integer' } } } } as const;

/** null unless the request asked for logprobs. */
const CHAT_LOGPROBS_SCHEMA = {
  type: ['object', 'null'],
  properties: {
    content: { type: 'array', items: { type: 'object', properties: { ...candidate.properties, top_logprobs: { type: 'array', items: candidate } } } },
    refusal: { type: 'null' },
  },
} as const;

const COMPLETION_LOGPROBS_SCHEMA = {
  type: ['object', 'null'],
  properties: {
    tokens: { type: 'array', items: { type: 'string' } },
    token_logprobs: { type: 'array', items: { type: 'number' } },
    top_logprobs: { type: 'array', items: { type: 'object', additionalProperties: { type: 'number' } } },
    text_offset: { type: 'array', items: { type: 'integer' } },
  },
} as const;

export const CHAT_RESPONSE_SCHEMA = {
  200: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      object: { type: 'string' },
      created: { type: 'integer' },
      model: { type: 'string' },
      system_fingerprint: { type: ['string', 'null'] },
      choices: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            index: { type: 'integer' },
            message: {
              type: 'object',
              properties: {
                role: { type: 'string' },
                content: { type: ['string', 'null'] },
                tool_calls: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      type: { type: 'string' },
                      function: { type: 'object', properties: { name: { type: 'string' }, arguments: { type: 'string' } } },
                    },
                  },
                },
              },
            },
            logprobs: CHAT_LOGPROBS_SCHEMA,
            finish_reason: { type: 'string' },
          },
        },
      },
      usage,
    },
  },
  ...errorResponses,
} as const;

export const COMPLETION_RESPONSE_SCHEMA = {
  200: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      object: { type: 'string' },
      created: { type: 'integer' },
      model: { type: 'string' },
      choices: {
        type: 'array',
        items: {
          type: 'object',
          properties: { text: { type: 'string' }, index: { type: 'integer' }, logprobs: COMPLETION_LOGPROBS_SCHEMA, finish_reason: { type: 'string' } },
        },
      },
      usage,
    },
  },
  ...errorResponses,
} as const;

export const EMBEDDING_RESPONSE_SCHEMA = {
  200: {
    type: 'object',
    properties: {
      object: { type: 'string' },
      model: { type: 'string' },
      data: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            object: { type: 'string' },
            index: { type: 'integer' },
            embedding: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'number' } }] },
          },
        },
      },
      usage: { type: 'object', properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } } },
    },
  },
  ...errorResponses,
} as const;

const modelObject = { type: 'object', properties: { id: { type: 'string' }, object: { type: 'string' }, created: { type: 'integer' }, owned_by: { type: 'string' } } } as const;

export const MODELS_RESPONSE_SCHEMA = {
  200: { type: 'object', properties: { object: { type: 'string' }, data: { type: 'array', items: modelObject } } },
  ...errorResponses,
} as const;

export const MODEL_PARAMS_SCHEMA = { type: 'object', required: ['model'], properties: { model: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

export const MODEL_RESPONSE_SCHEMA = { 200: modelObject, ...errorResponses } as const;

// ───────────────────────────── request body types (what the schemas admit) ─────────────────────────────

export type ContentPart = { type: string; text?: string };

export interface SamplingBody {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  n?: number | null;
  user?: string;
  /** Chat: a boolean; completions: the number of alternatives (the route schemas decide which). */
  logprobs?: boolean | number | null;
  /** Chat only. */
  top_logprobs?: number | null;
}

export interface ChatBody extends SamplingBody {
  model: string;
  messages: { role: string; content?: string | null | ContentPart[]; name?: string; tool_calls?: unknown[]; tool_call_id?: string }[];
  /** Function tools (python/mlx_runtime/tools.py); other tool types are refused (unsupported.ts). */
  tools?: unknown[] | null;
  tool_choice?: unknown;
}

export interface CompletionBody extends SamplingBody {
  model: string;
  prompt: string | [string];
  echo?: boolean | null;
}

export interface EmbeddingBody {
  model: string;
  input: string | string[];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}
