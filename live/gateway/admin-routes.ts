// The admin API (admin key only): cache stats and flush, worker list, drain, model load/unload, the scaling signal, usage, the audit log.
// Drain marks the worker draining in the core at once (no new work) and forwards Drain to it; model
// changes are forwarded to the workers, then their Stats are polled so the core's routing sees them.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from './context.js';
import { GatewayHttpError } from './errors.js';
import { DEFAULT_ROLLING, type RollingRestarter, type RollingRestartOptions } from './rolling-restart.js';
import type { WorkerLink } from './worker-link.js';

const MODEL_BODY = {
  type: 'object',
  required: ['model'],
  properties: { model: { type: 'string', minLength: 1, maxLength: 256 }, path: { type: 'string', maxLength: 4096 }, worker: { type: 'string', maxLength: 128 } },
} as const;

/** A UTC day, YYYY-MM-DD. */
const DAY = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';

export async function adminRoutes(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  const { ctx } = opts;

  app.get('/admin/cache', async () => ({
    dedupe: ctx.core.dedupe.stats(),
    responseCache: ctx.core.cache.stats(),
    coalescing: { groups: ctx.driver.coalescedGroups, requests: ctx.core.outcomes.byOutcome.coalesced, tokensSaved: ctx.core.outcomes.tokensSaved },
    outcomes: ctx.core.outcomes.snapshot(),
  }));

  // The scaling signal per model (core/scaling/desired-workers.ts): what mlx_serving_desired_workers
  // exports, with its reason and inputs. Empty `models` while core.scaling is off.
  app.get('/admin/scaling', async () => {
    const signal = ctx.core.scalingSignal(ctx.clock.nowMs());
    return {
      enabled: ctx.core.config.scaling.enabled,
      models: signal.map((m) => ({ model: m.model, desiredWorkers: m.desiredWorkers, currentWorkers: m.currentWorkers, rawWorkers: m.rawWorkers, reason: m.reason, slotsNeeded: m.slotsNeeded ?? null, inputs: { ...m.inputs, serviceMs: m.inputs.serviceMs ?? null } })),
    };
  });

  // Versions and canaries (core/canary/): each canaried model's stable version, weights, roles and
  // the window figures each canary is judged on. Promotion (admin role) gives a version all the traffic.
  app.get('/admin/canary', async () => ({ models: ctx.core.canaryStatus(ctx.clock.nowMs()).map((m) => ({ ...m, versions: m.versions.map((v) => ({ ...v, figures: { ...v.figures, ttftP95Ms: v.figures.ttftP95Ms ?? null } })) })) }));

  app.post<{ Params: { model: string }; Body: { version: string } }>('/admin/canary/:model/promote', {
    schema: { body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: { type: 'string', minLength: 1, maxLength: 64 } } } },
  }, async (request) => {
    const r = ctx.core.promoteCanary(request.params.model, request.body.version);
    if (!r.ok) throw new GatewayHttpError('model_not_found', r.reason);
    request.log.info({ model: request.params.model, version: request.body.version }, 'canary promoted');
    return { promoted: { model: request.params.model, version: request.body.version }, status: ctx.core.canaryStatus(ctx.clock.nowMs()).find((m) => m.model === request.params.model) };
  });

  // Usage per tenant, model and UTC day (live/usage/usage-ledger.ts), priced from usage.costs.
  app.get<{ Querystring: { tenant?: string; from?: string; to?: string } }>('/admin/usage', {
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { tenant: { type: 'string', minLength: 1, maxLength: 64 }, from: { type: 'string', pattern: DAY }, to: { type: 'string', pattern: DAY } },
      },
    },
  }, async (request) => {
    const q = request.query;
    const rows = await ctx.usage.query({ ...(q.tenant !== undefined && { tenant: q.tenant }), ...(q.from !== undefined && { from: q.from }), ...(q.to !== undefined && { to: q.to }) });
    return { object: 'list', persisted: ctx.config.usage.path !== undefined, fleet: ctx.config.usage.shared !== undefined, data: rows };
  });

  // The audit log's last entries of this process (audit.path holds them all).
  app.get<{ Querystring: { limit?: string } }>('/admin/audit', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$' } } } },
  }, async (request) => ({ object: 'list', persisted: ctx.config.audit.path !== undefined, data: ctx.audit.last(Number(request.query.limit ?? 100)) }));

  app.post('/admin/cache/flush', async () => ({ flushed: ctx.core.flushCaches() }));

  app.get('/admin/workers', async () => {
    const now = ctx.clock.nowMs();
    const info = new Map(ctx.core.workerInfo(now).map((w) => [w.id, w]));
    return {
      workers: [...ctx.links.values()].map((l) => ({
        id: l.id, address: l.address, streamConnected: l.connected, streamReconnects: l.reconnects, inFlightOnStream: l.inFlightCount,
        lastError: l.lastError ?? null, status: info.get(l.id) ?? null,
      })),
    };
  });

  app.post<{ Params: { id: string }; Body: { drain?: boolean } | undefined }>('/admin/workers/:id/drain', {
    schema: { body: { type: ['object', 'null'], properties: { drain: { type: 'boolean' } } } },
  }, async (request) => {
    const link = linkOf(ctx, request.params.id);
    const drain = request.body?.drain ?? true;
    if (drain) ctx.core.drain(link.id, ctx.clock.nowMs());
    const res = await forward(() => link.drain(drain));
    await link.poll(true);
    return { worker: link.id, draining: res.draining, inFlight: res.inFlight };
  });

  const modelChange = (load: boolean) => async (request: { body: unknown }) => {
    const body = request.body as { model: string; path?: string; worker?: string };
    const targets = body.worker !== undefined ? [linkOf(ctx, body.worker)] : [...ctx.links.values()];
    const results = await Promise.allSettled(targets.map((l) => (load ? l.loadModel(body.model, body.path ?? '') : l.unloadModel(body.model))));
    await Promise.all(targets.map((l) => l.poll(true)));
    const out = results.map((r, i) => ({
      worker: targets[i]!.id,
      ok: r.status === 'fulfilled',
      models: r.status === 'fulfilled' ? r.value.models.map((m) => m.id) : null,
      error: r.status === 'rejected' ? ((r.reason as { details?: string }).details ?? String(r.reason)) : null,
    }));
    if (out.every((r) => !r.ok)) throw new GatewayHttpError('worker_error', `${load ? 'LoadModel' : 'UnloadModel'} failed on every worker: ${out.map((r) => r.error).join('; ')}`);
    return { model: body.model, results: out };
  };
  // Rolling restart: POST /admin/restart?rolling=true[&wait=true] { workers?, minHealthyWorkers?, … }
  // → 202 and the status (200 with the final status when wait=true); GET /admin/restart → status.
  // Only where the process owner can restart workers (GatewayOptions.restartWorker): else 404.
  const rolling = ctx.rolling;
  if (rolling !== undefined) restartRoutes(app, ctx, rolling);

  app.post('/admin/models/load', { schema: { body: MODEL_BODY } }, modelChange(true));
  app.post('/admin/models/unload', { schema: { body: MODEL_BODY } }, modelChange(false));
}

function restartRoutes(app: FastifyInstance, ctx: GatewayContext, rolling: RollingRestarter): void {
  app.get('/admin/restart', async () => rolling.status);
  app.post<{ Querystring: { rolling?: string; wait?: string }; Body: Partial<RollingRestartOptions> | null | undefined }>('/admin/restart', {
    schema: {
      // query strings are not coerced (ajv coerceTypes: false): booleans are spelled out
      querystring: { type: 'object', properties: { rolling: { type: 'string', enum: BOOL_QUERY }, wait: { type: 'string', enum: BOOL_QUERY } } },
      body: {
        type: ['object', 'null'],
        properties: {
          workers: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128 }, maxItems: 1024, uniqueItems: true },
          minHealthyWorkers: { type: 'integer', minimum: 0, maximum: 1024 },
          waitHealthyMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
          drainTimeoutMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
          readyTimeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
        },
      },
    },
  }, async (request, reply) => {
    if (!queryTrue(request.query.rolling ?? 'true')) throw new GatewayHttpError('invalid_request', 'Only rolling restarts are supported (rolling=true).', 'rolling');
    if (rolling.busy) throw new GatewayHttpError('restart_in_progress');
    const body = request.body ?? {};
    for (const id of body.workers ?? []) linkOf(ctx, id);
    const done = rolling.start({ ...DEFAULT_ROLLING, ...body });
    if (queryTrue(request.query.wait)) return done;
    reply.code(202);
    return rolling.status;
  });
}

const BOOL_QUERY = ['true', 'false', '1', '0', ''];

/** "?rolling", "?rolling=1", "?rolling=true" are true. */
function queryTrue(v: string | undefined): boolean {
  return v === '' || v === '1' || v === 'true';
}

function linkOf(ctx: GatewayContext, id: string): WorkerLink {
  const l = ctx.links.get(id);
  if (l === undefined) throw new GatewayHttpError('worker_not_found', `No worker with id ${JSON.stringify(id)}.`, 'id');
  return l;
}

async function forward<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new GatewayHttpError('worker_error', `The worker refused: ${(err as { details?: string }).details ?? String(err)}`, null, undefined, { cause: err });
  }
}
