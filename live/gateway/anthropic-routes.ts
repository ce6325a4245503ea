// The Anthropic Messages API: POST /v1/messages, streamed (Anthropic's SSE events) and not. The body is
// mapped onto a chat body (anthropic-mapping.ts) and admitted exactly as /v1/chat/completions is
// (admission.ts: the same refusals, InferenceRequest, core and worker), so there is no second decision
// path; only the rendering differs (anthropic-sink.ts). Every error of this route — a refusal, a
// failed validation, a missing key, a core rejection — leaves in Anthropic's shape
// {type: "error", error: {type, message}}, the plugin's own error handler rendering what the app's
// would send (error-handler.ts).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { admitCompletion } from './admission.js';
import { AnthropicSink } from './anthropic-sink.js';
import { anthropicErrorBody, chatBodyOf } from './anthropic-mapping.js';
import { MESSAGE_RESPONSE_SCHEMA, messagesRequestSchema, type MessagesBody } from './anthropic-schemas.js';
import type { GatewayContext } from './context.js';
import { errorReply } from './error-handler.js';
import { GatewayHttpError } from './errors.js';
import { toolModeOf } from './request-mapping.js';
import { sinkDepsOf } from './sink-base.js';

const ROUTE = '/v1/messages';

export async function anthropicRoutes(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  const { ctx } = opts;
  const sinkDeps = sinkDepsOf(ctx);

  app.setErrorHandler((err: FastifyError | GatewayHttpError, request, reply) => {
    const r = errorReply(err, request);
    reply.code(r.status).send(anthropicErrorBody(r.status, r.body.error.message));
  });

  app.post(ROUTE, { config: { sse: true }, schema: { body: messagesRequestSchema(ctx.config.limits), response: MESSAGE_RESPONSE_SCHEMA } }, (request: FastifyRequest, reply: FastifyReply): void => {
    const chat = chatBodyOf(request.body as MessagesBody);
    if ('code' in chat) throw new GatewayHttpError(chat.code, chat.message, chat.param);
    const req = admitCompletion(ctx, request, 'chat', chat);
    const sink = new AnthropicSink(reply, {
      jobId: req.id, traceId: String(request.id), stream: req.stream, route: ROUTE, model: req.model, tenant: req.tenant, inputTokensEstimate: req.promptTokens,
      tools: toolModeOf(chat),
    }, sinkDeps);
    sink.start();
    ctx.driver.arrive(req, sink);
  });
}
