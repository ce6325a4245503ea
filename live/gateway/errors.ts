// Errors in OpenAI's shape: {error: {message, type, code, param}}. Codes are stable: the core's
// catalogue (core/errors.ts) for serving decisions, plus the HTTP layer's own below. The `type`
// follows OpenAI's vocabulary and says whose fault it was.
import { ERRORS, type ErrorCode, type Fault } from '../../core/index.js';

/** Failures decided by the HTTP layer, not the core. */
export const HTTP_ERRORS = {
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'The request is invalid.' },
  unsupported_parameter: { status: 400, type: 'invalid_request_error', message: 'The request asks for something this server does not support.' },
  unsupported_content: { status: 400, type: 'invalid_request_error', message: 'A message holds content the model cannot read.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'The request body must be application/json.' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error', message: 'The prompt is longer than the gateway accepts.' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is too large.' },
  invalid_api_key: { status: 401, type: 'invalid_request_error', message: 'Missing or invalid API key.' },
  forbidden: { status: 403, type: 'permission_error', message: 'This credential\'s role may not call this endpoint (operator: the admin API\'s operations; admin: everything).' },
  insufficient_quota: { status: 429, type: 'insufficient_quota', message: 'The tenant has used its monthly token budget.' },
  not_found: { status: 404, type: 'invalid_request_error', message: 'Unknown route.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'Method not allowed.' },
  request_timeout: { status: 504, type: 'timeout_error', message: 'The request did not finish within the gateway timeout.' },
  slow_client: { status: 499, type: 'invalid_request_error', message: 'The client did not read the stream fast enough; the request was cancelled.' },
  shutting_down: { status: 503, type: 'server_error', message: 'The gateway is shutting down.' },
  restart_in_progress: { status: 409, type: 'invalid_request_error', message: 'A rolling restart is already running.' },
  worker_not_found: { status: 404, type: 'invalid_request_error', message: 'No such worker.' },
  internal_error: { status: 500, type: 'server_error', message: 'Internal gateway error.' },
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;
export type AnyErrorCode = ErrorCode | HttpErrorCode;

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

const TYPE_BY_FAULT: Record<Fault, string> = {
  client: 'invalid_request_error',
  capacity: 'server_overloaded',
  worker: 'server_error',
  gateway: 'server_error',
};

export function errorType(code: AnyErrorCode): string {
  if (code === 'rate_limited') return 'rate_limit_error';
  if (code in HTTP_ERRORS) return HTTP_ERRORS[code as HttpErrorCode].type;
  return TYPE_BY_FAULT[ERRORS[code as ErrorCode].fault];
}

export function errorStatus(code: AnyErrorCode): number {
  return code in HTTP_ERRORS ? HTTP_ERRORS[code as HttpErrorCode].status : ERRORS[code as ErrorCode].status;
}

export function errorBody(code: AnyErrorCode, message?: string, param: string | null = null): OpenAIErrorBody {
  const msg = message ?? (code in HTTP_ERRORS ? HTTP_ERRORS[code as HttpErrorCode].message : ERRORS[code as ErrorCode].message);
  return { error: { message: msg, type: errorType(code), code, param } };
}

/** An error a route throws to answer with an OpenAI error (the error handler renders it). */
export class GatewayHttpError extends Error {
  override name = 'GatewayHttpError';
  constructor(
    readonly code: AnyErrorCode,
    message?: string,
    readonly param: string | null = null,
    readonly statusOverride?: number,
    options?: { cause?: unknown },
  ) {
    super(message ?? errorBody(code).error.message, options);
  }

  get status(): number {
    return this.statusOverride ?? errorStatus(this.code);
  }
}

/** JSON schema of the error body (for Fastify's response serializer). */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: { type: 'string' },
        code: { type: 'string' },
        param: { type: ['string', 'null'] },
      },
    },
  },
} as const;
