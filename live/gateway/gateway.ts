// buildGateway: the Fastify app, the gateway core under the real clock, and one gRPC link per worker.
//
//   const gw = buildGateway({ config });  await gw.start();  …  await gw.stop();
//
// stop() is the graceful shutdown: stop accepting (new requests get 503 while closing), let in-flight
// requests finish (bounded by limits.shutdownTimeoutMs, then connections are cut), close the worker
// links, stop the core's timer.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import { GatewayCore, type RequestId, type Rng, type WorkerId } from '../../core/index.js';
import type { LiveGatewayConfig, WorkerEndpoint } from '../shared/config.js';
import { attachRegistry, type AttachedRegistry } from '../registry/gateway-registry.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { registerProcessMetrics } from '../shared/process-metrics.js';
import { createTracing, type Tracing } from '../shared/tracing.js';
import type { GenerateEventMsg, GenerateRequestMsg, WorkerStatusMsg } from '../shared/proto.js';
import { adminRoutes } from './admin-routes.js';
import { anthropicRoutes } from './anthropic-routes.js';
import { Authenticator, type AuthResult } from './auth.js';
import { identityOf, kIdentity, setIdentity, type GatewayContext } from './context.js';
import { CoreDriver, type RequestSink, type WorkerTransport } from './core-driver.js';
import { installErrorHandling } from './error-handler.js';
import { errorBody, GatewayHttpError } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { openaiRoutes } from './openai-routes.js';
import { RouteTable } from './openapi.js';
import { RollingRestarter, type RestartWorkerHook } from './rolling-restart.js';
import { fromTokenLogprobs, toGenerateRequest } from './request-mapping.js';
import { RequestTracer } from './request-tracing.js';
import { WorkerLink, type LinkLogger } from './worker-link.js';
import { SharedCanary } from '../canary/shared-canary.js';
import { SharedUsage } from '../usage/shared-usage.js';
import { UsageLedger } from '../usage/usage-ledger.js';
import { AuditLog } from './audit-log.js';
import { mayCallAdmin } from './roles.js';

export interface GatewayOptions {
  readonly config: LiveGatewayConfig;
  /** Metrics registry (never prom-client's global); a fresh one by default. */
  readonly registry?: Registry;
  /** Register the process metrics (CPU, memory, event-loop lag) on the registry too; default true. */
  readonly processMetrics?: boolean;
  readonly clock?: Clock;
  /** The core's randomness (retry jitter, routing ties). */
  readonly rng?: Rng;
  /** Fastify logger option; defaults to pino at config.logLevel. Tests pass false. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Restarts one worker process at the same id and address (enables POST /admin/restart). */
  readonly restartWorker?: RestartWorkerHook;
  /** Where the default logger writes (stdout by default); tests capture it to check what is logged. */
  readonly logStream?: { write(line: string): void };
  /** OpenTelemetry traces (live/shared/tracing.ts); default: what the OTEL_* variables say (off unless set). Shut down by stop(). */
  readonly tracing?: Tracing;
}

export interface Gateway {
  readonly app: FastifyInstance;
  /** Present when GatewayOptions.restartWorker was given. */
  readonly rolling: RollingRestarter | undefined;
  readonly core: GatewayCore;
  readonly driver: CoreDriver;
  readonly links: ReadonlyMap<string, WorkerLink>;
  readonly registry: Registry;
  /** Connects to the workers (first Stats awaited), then listens. Returns the base URL. */
  start(): Promise<string>;
  /** Adds a worker at run time (registry): opens its link, first Stats awaited. */
  addWorker(endpoint: WorkerEndpoint): Promise<void>;
  /** Removes a worker at run time: the core retries its running requests elsewhere. */
  removeWorker(id: string): void;
  stop(): Promise<void>;
}

const HEALTH_SCHEMA = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } as const;
const READY_SCHEMA = { type: 'object', required: ['ready', 'models'], properties: { ready: { type: 'boolean' }, models: { type: 'array', items: { type: 'string' } } } } as const;

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildGateway(opts: GatewayOptions): Gateway {
  const config = opts.config;
  const clock = opts.clock ?? systemClock;
  const registry = opts.registry ?? new Registry();
  const core = new GatewayCore(config.core, opts.rng ?? Math.random);
  const links = new Map<string, WorkerLink>();
  const tracing = opts.tracing ?? createTracing({ serviceName: 'mlx-serving-gateway' });
  const tracer = tracing.tracer === undefined ? undefined : new RequestTracer(tracing.tracer, core, () => clock.nowMs());

  const prefix = randomBytes(3).toString('hex');
  let seq = 0;
  const nextId = () => `${prefix}-${(seq++).toString(36)}`;

  const app = Fastify({
    logger: opts.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
      ...(opts.logStream !== undefined && { stream: opts.logStream }),
    },
    bodyLimit: config.limits.bodyLimitBytes,
    // Slow-loris guards (Node's HTTP server: 408 and close). Node checks them every
    // connectionsCheckingInterval (30 s by default: far too coarse for a 10 s headers timeout).
    requestTimeout: config.limits.receiveTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(config.limits.headersTimeoutMs / 4))),
    },
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : `req-${nextId()}`;
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Path parameters (GET /v1/models/{model}) as long as the schemas allow a model id, and then some:
    // the route schema refuses what is longer, with an OpenAI error naming the param.
    routerOptions: { maxParamLength: 1024 },
    // A URL the router itself refuses (a longer param, a malformed escape): OpenAI's error shape too.
    frameworkErrors: (err, _request, reply) => {
      const status = (err as FastifyError).statusCode ?? 400;
      const r = reply as unknown as { code(n: number): { send(b: unknown): void } };
      r.code(status >= 400 && status < 500 ? status : 400).send(errorBody('invalid_request', err.message));
    },
  });
  const routes = new RouteTable();
  routes.attach(app);
  app.decorateRequest(kIdentity, null);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415

  const transport: WorkerTransport = {
    dispatch(workerId, requests, sinkOf) {
      const link = links.get(workerId);
      const msgs: GenerateRequestMsg[] = [];
      for (const r of requests) msgs.push(toGenerateRequest(r, sinkOf(r.id), tracer?.traceparentFor(r.id)));
      if (link === undefined || !link.dispatch(msgs)) {
        // Never re-enter the core from a command: report the loss on the next turn.
        const ids = requests.map((r) => r.id);
        setImmediate(() => lost(workerId, ids, 'worker stream not connected'));
      }
    },
    cancel(workerId, requestId) {
      links.get(workerId)?.cancel(requestId);
    },
    async loadModel(workerId, model, path) {
      const link = links.get(workerId);
      if (link === undefined) throw new Error(`no link to worker ${workerId}`);
      // As long as the requests waiting for it may wait (their queue timeout), not a unary call's deadline.
      const r = await link.loadModel(model, path, Math.max(config.grpc.unaryTimeoutMs, config.core.admission.queueTimeoutMs));
      if (!r.models.some((m) => m.id === model)) throw new Error(`worker ${workerId} does not list ${model} after LoadModel`);
      await link.poll(true); // the core dispatches the waiting requests when this status lists the model
    },
  };
  const driver = new CoreDriver(core, clock, transport);
  driver.tracer = tracer;

  const lost = (workerId: WorkerId, ids: readonly RequestId[], reason: string) => {
    for (const requestId of ids) driver.workerEvent({ kind: 'error', workerId, requestId, failure: { code: 'worker_unavailable', message: reason } });
  };
  const handler = {
    onEvents(workerId: WorkerId, events: readonly GenerateEventMsg[]) {
      for (const ev of events) {
        if (ev.kind === 'tokens') {
          const t = ev.tokens;
          const tokens = t.count || t.tokenIds.length || 1;
          // Two literal shapes rather than a conditional spread: no object copied per token.
          driver.workerEvent(t.logprobs.length > 0
            ? { kind: 'tokens', workerId, requestId: ev.requestId, tokens, text: t.text, logprobs: fromTokenLogprobs(t.logprobs) }
            : { kind: 'tokens', workerId, requestId: ev.requestId, tokens, text: t.text });
        }
        else if (ev.kind === 'done') {
          const d = ev.done;
          driver.workerEvent({ kind: 'done', workerId, requestId: ev.requestId, output: { finishReason: d.finishReason === 'length' ? 'length' : 'stop', promptTokens: d.promptTokens, completionTokens: d.completionTokens, cachedPromptTokens: d.cachedPromptTokens, ...(d.stopSequence !== '' && { stopSequence: d.stopSequence }) } });
        } else if (ev.kind === 'error') {
          driver.workerEvent({ kind: 'error', workerId, requestId: ev.requestId, failure: { code: ev.error.code, message: ev.error.message, clientFault: ev.error.clientFault, retryHere: ev.error.retryHere } });
        }
      }
    },
    onLost: lost,
    onStatus(workerId: WorkerId, s: WorkerStatusMsg | undefined) {
      // A failed poll is a missed heartbeat: the core turns the worker unhealthy after
      // health.missesMax intervals without an answer, so one slow poll is not an outage.
      if (s === undefined) return;
      driver.workerStatus({
        workerId, models: s.models, maxConcurrent: s.maxConcurrent, healthy: s.healthy, draining: s.draining,
        kvUsedBytes: s.kvUsedBytes, kvCapacityBytes: s.kvCapacityBytes, ...(s.memoryFreeBytes != null && { memoryFreeBytes: s.memoryFreeBytes }), ...(s.coldModels !== undefined && s.coldModels.length > 0 && { coldModels: s.coldModels }),
      });
    },
  };
  const linkLog: LinkLogger = { warn: (o, m) => app.log.warn(o, m), info: (o, m) => app.log.info(o, m) };
  for (const w of config.workers) links.set(w.id, new WorkerLink(w, config.grpc, config.core.health.heartbeatIntervalMs, handler, linkLog));

  const rolling = opts.restartWorker === undefined ? undefined : new RollingRestarter({ core, clock, links, restartWorker: opts.restartWorker });
  if (opts.processMetrics !== false) registerProcessMetrics(registry);
  const metrics = new GatewayMetrics(registry, {
    core,
    nowMs: () => clock.nowMs(),
    links: () => [...links.values()].map((l) => ({ id: l.id, reconnects: l.reconnects, kvUsedBytes: l.lastStatus?.kvUsedBytes ?? 0 })),
    coalescedGroups: () => driver.coalescedGroups,
    rolling: () => rolling?.status,
  });
  driver.onBatch = (n, workerId) => {
    metrics.batchSize.observe(n);
    metrics.workerDispatches.inc({ worker: workerId }, n);
  };
  driver.onTokens = (n, workerId) => metrics.workerTokens.inc({ worker: workerId }, n);

  driver.onModelLoad = (c, error) => {
    metrics.modelLoads.inc({ model: c.model, worker: c.workerId, result: error === undefined ? 'loaded' : 'failed' });
    if (error === undefined) app.log.info({ worker: c.workerId, model: c.model, path: c.path }, `model loaded on demand: ${c.model} on ${c.workerId}`);
    else app.log.warn({ worker: c.workerId, model: c.model, path: c.path, err: error }, `model load failed: ${c.model} on ${c.workerId}`);
  };
  driver.onCanaryRollback = (rb) => {
    app.log.warn({ model: rb.model, version: rb.version, stable: rb.stable, reason: rb.reason, canary: rb.canary, stableFigures: rb.stableFigures }, `canary rolled back: ${rb.model}@${rb.version}: ${rb.detail}`);
  };
  const auth = new Authenticator(config.auth);
  const usage = new UsageLedger(config.usage, () => clock.wallMs());
  let sharedUsage: SharedUsage | undefined; // usage.shared: the fleet's usage through NATS KV
  let sharedCanary: SharedCanary | undefined; // canaryShared: rollbacks and promotions shared through NATS KV
  const audit = new AuditLog(config.audit.path);
  const ctx: GatewayContext = { config, core, driver, clock, metrics, auth, links, rolling, usage, audit, nextRequestId: nextId };

  installErrorHandling(app, routes);
  // Hooks on the hot path are callback-style: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // A known path under another method: 405 here, before Fastify's body checks (QUERY, PATCH …
    // without a content-type would otherwise be a 400 from the content-type parser).
    if (request.is404) {
      const path = request.url.split('?')[0]!;
      const allowed = routes.methodsOf(path);
      if (allowed.length > 0) {
        reply.code(405).header('allow', allowed.join(', ')).send(errorBody('method_not_allowed', `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')}).`));
        return;
      }
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  // Liveness and readiness: no credential needed.
  app.get('/health', { schema: { response: { 200: HEALTH_SCHEMA } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { response: { 200: READY_SCHEMA, 503: READY_SCHEMA } } }, async (_request, reply) => {
    const models = core.readyModels(clock.nowMs());
    if (models.length === 0) reply.code(503);
    return { ready: models.length > 0, models };
  });

  app.register(async (api) => {
    api.addHook('onRequest', (request, _reply, done) => {
      const settle = (r: AuthResult) => {
        if (!r.ok) {
          request.log.info({ reason: r.reason }, 'authentication failed');
          done(new GatewayHttpError('invalid_api_key'));
          return;
        }
        setIdentity(request, r.identity);
        done();
      };
      const r = auth.authenticate(Authenticator.credentialOf(request.headers));
      if ('then' in r) r.then(settle, (err: unknown) => done(err as Error));
      else settle(r);
    });
    api.get('/metrics', async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
    let openapi: string | undefined;
    api.get('/openapi.json', async (_request, reply) => {
      openapi ??= JSON.stringify(routes.document({ title: 'mlx-serving gateway', version: '0.1.0' }));
      reply.header('content-type', 'application/json; charset=utf-8');
      return openapi;
    });
    await api.register(openaiRoutes, { ctx });
    await api.register(anthropicRoutes, { ctx });
    await api.register(async (admin) => {
      admin.addHook('onRequest', (request, _reply, done) => {
        done(mayCallAdmin(identityOf(request)?.role, request.routeOptions.url ?? request.url) ? undefined : new GatewayHttpError('forbidden'));
      });
      // The audit log: every change, and every refused call (roles.ts, audit-log.ts).
      admin.addHook('onResponse', (request, reply, done) => {
        if (request.method !== 'GET' || reply.statusCode === 403) {
          const id = identityOf(request);
          audit.write({
            at: new Date(clock.wallMs()).toISOString(), who: id?.id ?? 'unknown', role: id?.role ?? 'none',
            action: `${request.method} ${request.routeOptions.url ?? request.url}`,
            params: { ...(request.params as object), ...(request.query as object), ...(typeof request.body === 'object' && request.body !== null ? { body: request.body } : {}) },
            status: reply.statusCode,
          });
        }
        done();
      });
      await admin.register(adminRoutes, { ctx });
    });
  });

  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let stopping: Promise<void> | undefined;
  let workerRegistry: AttachedRegistry | undefined;
  const addWorker = async (w: WorkerEndpoint) => {
    if (links.has(w.id) || stopping !== undefined) return;
    const link = new WorkerLink(w, config.grpc, config.core.health.heartbeatIntervalMs, handler, linkLog);
    links.set(w.id, link);
    await link.start();
  };
  const removeWorker = (id: string) => {
    const link = links.get(id);
    if (link === undefined) return;
    links.delete(id);
    driver.workerRemoved(id);
    link.close();
  };
  return {
    app, core, driver, links, registry, rolling, addWorker, removeWorker,
    async start() {
      await usage.open();
      if (config.usage.shared !== undefined) sharedUsage = await SharedUsage.start(config.usage.shared, usage, () => clock.wallMs());
      if (config.canaryShared !== undefined) sharedCanary = await SharedCanary.start(config.canaryShared, core, Object.keys(config.core.canary.models), app.log);
      await Promise.all([...links.values()].map((l) => l.start()));
      workerRegistry = await attachRegistry(config.registry, {
        addWorker, removeWorker, hasWorker: (id) => links.has(id), staticIds: new Set(config.workers.map((w) => w.id)), log: linkLog,
      });
      return app.listen({ host: config.listen.host, port: config.listen.port });
    },
    stop() {
      stopping ??= (async () => {
        const force = setTimeout(() => app.server.closeAllConnections(), config.limits.shutdownTimeoutMs);
        force.unref();
        // server.close() ends idle keep-alive connections but waits for ones that never sent a
        // request (browsers and pools preconnect): cut every connection with no response under way.
        const sweep = setInterval(() => closeConnectionsWithoutResponse(sockets), 50);
        try {
          const closing = app.close();
          closeConnectionsWithoutResponse(sockets);
          await closing;
        } finally {
          clearTimeout(force);
          clearInterval(sweep);
          await workerRegistry?.stop();
          for (const l of links.values()) l.close();
          driver.stop();
          await sharedUsage?.close().catch(() => undefined);
          await sharedCanary?.close().catch(() => undefined);
          await usage.close().catch(() => undefined);
          await tracing.shutdown();
        }
      })();
      return stopping;
    },
  };
}

/** Destroys connections that carry no response (Node sets socket._httpMessage while one is under way). */
function closeConnectionsWithoutResponse(sockets: ReadonlySet<Socket>): void {
  for (const s of sockets) if ((s as Socket & { _httpMessage?: unknown })._httpMessage == null) s.destroy();
}

export type { RequestSink };
