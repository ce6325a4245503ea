// Every error leaves with a stable code and says whose fault it was; a client's mistake is never a 5xx.
// errorReply turns what a route, a hook or Fastify threw into a status and OpenAI's error body; the
// app's handler sends that, and a plugin speaking another API (anthropic-routes.ts) renders the same
// reply in its own shape.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody, errorStatus, GatewayHttpError, type AnyErrorCode, type OpenAIErrorBody } from './errors.js';
import { CONDITIONAL_MESSAGES } from './openai-schemas.js';
import type { RouteTable } from './openapi.js';
import { refusalOfSchemaBound } from './unsupported.js';

export interface ErrorReply {
  readonly status: number;
  readonly body: OpenAIErrorBody;
}

export function installErrorHandling(app: FastifyInstance, routes: RouteTable): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = routes.methodsOf(path);
    if (allowed.length > 0) {
      reply.code(405).header('allow', allowed.join(', ')).send(errorBody('method_not_allowed', `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')}).`));
      return;
    }
    reply.code(404).send(errorBody('not_found', `Unknown route ${request.method} ${path}.`));
  });
  app.setErrorHandler((err: FastifyError | GatewayHttpError, request, reply) => {
    const r = errorReply(err, request);
    reply.code(r.status).send(r.body);
  });
}

export function errorReply(err: FastifyError | GatewayHttpError, request: FastifyRequest): ErrorReply {
  if (err instanceof GatewayHttpError) return { status: err.status, body: errorBody(err.code, err.message, err.param) };
  const fe = err as FastifyError;
  if (fe.validation !== undefined && fe.validation.length > 0) {
    const v = fe.validation[0]!;
    const param = paramName(v.instancePath, (v.params as { missingProperty?: string }).missingProperty, fe.validationContext);
    // A bound that means "not supported" may sit in one branch of an anyOf (a message's content parts):
    // look through every error ajv reported, not only the first.
    let refusal;
    for (const e of fe.validation) {
      const p = paramName(e.instancePath, undefined, fe.validationContext);
      refusal = p === null ? undefined : refusalOfSchemaBound(p, e.keyword, request.body);
      if (refusal !== undefined) break;
    }
    if (refusal !== undefined) return { status: 400, body: errorBody(refusal.code, refusal.message, refusal.param) };
    const message = CONDITIONAL_MESSAGES[v.schemaPath] ?? `Invalid ${param ?? 'request'}: ${param ?? 'value'} ${v.message ?? 'is invalid'}.`;
    return { status: 400, body: errorBody('invalid_request', message, param) };
  }
  const code = HTTP_CODE_OF_FASTIFY[fe.code ?? ''];
  if (code !== undefined) {
    return { status: errorStatus(code), body: errorBody(code, code === 'invalid_json' ? `The request body is not valid JSON: ${fe.message}` : undefined) };
  }
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, body: errorBody('invalid_request', fe.message) };
  request.log.error({ err }, 'unhandled gateway error');
  return { status: 500, body: errorBody('internal_error') };
}

const HTTP_CODE_OF_FASTIFY: Record<string, AnyErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_NOT_FOUND: 'not_found',
};

/** "/messages/0/role" + missing "content" → "messages[0].role.content" (OpenAI names params that way). */
function paramName(instancePath: string, missing: string | undefined, context: string | undefined): string | null {
  const parts = instancePath.split('/').filter((p) => p.length > 0);
  if (missing !== undefined) parts.push(missing);
  if (parts.length === 0) return context === 'body' ? null : (context ?? null);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}
