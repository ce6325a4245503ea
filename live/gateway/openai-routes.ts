// The OpenAI-compatible API: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models,
// /v1/models/{model}.
// Completions become core events through the driver; embeddings are one-shot calls to the worker the
// core picks for them (GatewayCore.pickForOneShot: least-loaded routable worker of the model).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { admitCompletion, type CompletionKind } from './admission.js';
import type { GatewayContext } from './context.js';
import { GatewayHttpError } from './errors.js';
import { HttpSink } from './http-sink.js';
import {
  chatRequestSchema, CHAT_RESPONSE_SCHEMA, completionRequestSchema, COMPLETION_RESPONSE_SCHEMA, EMBEDDING_RESPONSE_SCHEMA,
  embeddingRequestSchema, MODEL_PARAMS_SCHEMA, MODEL_RESPONSE_SCHEMA, MODELS_RESPONSE_SCHEMA, type ChatBody, type CompletionBody, type EmbeddingBody,
} from './openai-schemas.js';
import { toolModeOf } from './request-mapping.js';
import { sinkDepsOf } from './sink-base.js';

export async function openaiRoutes(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  const { ctx } = opts;
  const sinkDeps = sinkDepsOf(ctx);

  const completion = (kind: CompletionKind, route: string) => (request: FastifyRequest, reply: FastifyReply): void => {
    const body = request.body as ChatBody | CompletionBody;
    const req = admitCompletion(ctx, request, kind, body);
    const sink = new HttpSink(reply, {
      jobId: req.id, traceId: String(request.id), kind, stream: req.stream, includeUsage: body.stream_options?.include_usage === true, model: req.model, tenant: req.tenant, route,
      logprobs: req.sampling.logprobs !== undefined,
      ...(kind === 'chat' && { tools: toolModeOf(body) }),
    }, sinkDeps);
    sink.start();
    ctx.driver.arrive(req, sink);
  };

  app.post('/v1/chat/completions', { config: { sse: true }, schema: { body: chatRequestSchema(ctx.config.limits), response: CHAT_RESPONSE_SCHEMA } }, completion('chat', '/v1/chat/completions'));
  app.post('/v1/completions', { config: { sse: true }, schema: { body: completionRequestSchema(ctx.config.limits), response: COMPLETION_RESPONSE_SCHEMA } }, completion('completion', '/v1/completions'));

  app.post('/v1/embeddings', { schema: { body: embeddingRequestSchema(ctx.config.limits.embeddingInputsMax), response: EMBEDDING_RESPONSE_SCHEMA } }, async (request) => {
    const body = request.body as EmbeddingBody;
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    // A canaried name (core.canary) runs as the version chosen for it, like a completion.
    const model = ctx.core.modelIdFor(body.model, undefined, String(request.id), ctx.clock.nowMs()) ?? body.model;
    const pick = ctx.core.pickForOneShot(model, ctx.clock.nowMs());
    if (!pick.ok) throw new GatewayHttpError(pick.code, undefined, pick.code === 'model_not_found' ? 'model' : null);
    const info = { id: pick.workerId };
    const link = ctx.links.get(info.id)!;
    const traced = ctx.driver.tracer?.oneShot(request.headers, '/v1/embeddings', String(request.id), info.id);
    let res;
    try {
      res = await link.embed({ model, input, traceId: String(request.id) }, traced?.traceparent);
      traced?.end();
    } catch (err) {
      traced?.end('worker_error');
      request.log.warn({ worker: info.id, err: (err as Error).message }, 'embed failed');
      throw new GatewayHttpError('worker_error', `The worker failed the embedding request: ${(err as { details?: string }).details ?? 'unavailable'}`, null, undefined, { cause: err });
    }
    // dimensions: only the model's own (no truncation or projection is implemented): refused by name otherwise.
    const dims = res.data[0]?.values.length;
    if (body.dimensions !== undefined && dims !== undefined && body.dimensions !== dims) {
      throw new GatewayHttpError('unsupported_parameter', `dimensions: only the model's own ${dims} are supported by this server (asked for ${body.dimensions}).`, 'dimensions');
    }
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      model: body.model,
      data: res.data.map((e, index) => ({ object: 'embedding', index, embedding: base64 ? floatsToBase64(e.values) : e.values })),
      usage: { prompt_tokens: res.promptTokens, total_tokens: res.promptTokens },
    };
  });

  const servedModels = (): Set<string> => {
    const models = new Set<string>();
    for (const w of ctx.core.workerInfo(ctx.clock.nowMs())) for (const m of w.models) models.add(m);
    // A catalogued model (core.catalog) is served too: a request for it loads it on a worker.
    for (const m of Object.keys(ctx.core.config.catalog)) models.add(m);
    // A canaried name (core.canary.models) is served when one of its versions (`name@version`) is.
    for (const c of ctx.core.canaryStatus(ctx.clock.nowMs())) if (c.versions.some((v) => models.has(v.modelId))) models.add(c.model);
    return models;
  };

  app.get('/v1/models', { schema: { response: MODELS_RESPONSE_SCHEMA } }, async () => {
    return { object: 'list', data: [...servedModels()].sort().map(modelObject) };
  });

  // A model id may hold a slash ("org/name"): clients send it percent-encoded, Fastify decodes the param.
  app.get('/v1/models/:model', { schema: { params: MODEL_PARAMS_SCHEMA, response: MODEL_RESPONSE_SCHEMA } }, async (request) => {
    const { model } = request.params as { model: string };
    if (!servedModels().has(model)) throw new GatewayHttpError('model_not_found', `The model ${JSON.stringify(model)} does not exist or is not served by any worker.`);
    return modelObject(model);
  });
}

/** OpenAI's model object. `created` is 0: a worker does not report when its model was made. */
function modelObject(id: string): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id, object: 'model', created: 0, owned_by: 'mlx-serving' };
}

/** OpenAI's base64 encoding: the float32 little-endian bytes of the vector. */
export function floatsToBase64(values: readonly number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, i * 4);
  return buf.toString('base64');
}
