// One trace per client request through the gateway (live/shared/tracing.ts: off unless OTEL_* enable it).
//
//   gateway.request  (SERVER)  from the route handler to the request's one terminal command; its parent
//                              is the client's `traceparent` header (a malformed one starts a new trace)
//     └ worker.generate (CLIENT) one per attempt, from the core's dispatch to the worker's done/error;
//                              its context goes to the worker node in GenerateRequest.traceparent
// An embeddings call (one-shot, not tracked by the core): gateway.request → worker.call (CLIENT), the
// context in the Embed call's gRPC metadata.
//
// The core stays pure: its decisions are read off the commands and events the driver already carries,
// and written as span events on gateway.request:
//   gateway.queued        the arrival produced no dispatch, answer or coalescing (it waits: batching
//                         window, admission queue, open breakers)
//   gateway.route         a dispatch: mlx.worker.id, mlx.batch.size, mlx.attempt
//   gateway.retry         a dispatch after the first (mlx.attempt)
//   gateway.cache_hit     served from dedupe or the response cache (mlx.cache.source)
//   gateway.cache_miss    the first dispatch of a request the caches could have answered
//   gateway.coalesced     attached to an identical in-flight job (mlx.leader.id); gateway.uncoalesced
//   gateway.worker_error  a worker failed the attempt (mlx.error.code)
//   gateway.breaker       the failing worker's breaker is not closed after it (mlx.breaker.state)
//   gateway.rejected / gateway.failed   the terminal refusal or failure (mlx.error.code, http status)
import type { IncomingHttpHeaders } from 'node:http';
import { isShareable, type Command, type GatewayCore, type GatewayEvent, type InferenceRequest, type RequestId, type WorkerEvent } from '../../core/index.js';
import { contextOf, extractContext, firstValue, SpanKind, SpanStatusCode, traceparentOf, type Span, type Tracer } from '../shared/tracing.js';

interface Traced {
  readonly server: Span;
  readonly cacheable: boolean;
  client: Span | undefined;
  attempts: number;
  firstToken: boolean;
}

/** Bound on traced requests (the core's requestsInFlightMax is far lower): the assertion's bound. */
const TRACED_MAX = 1_000_000;

export class RequestTracer {
  private readonly traced = new Map<RequestId, Traced>();

  constructor(
    private readonly tracer: Tracer,
    private readonly core: GatewayCore,
    private readonly nowMs: () => number,
  ) {}

  /** The server span of one admitted request (before the core sees it). */
  begin(req: InferenceRequest, headers: IncomingHttpHeaders, route: string, httpRequestId: string): void {
    const parent = extractContext(firstValue(headers.traceparent), firstValue(headers.tracestate));
    const server = this.tracer.startSpan('gateway.request', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST', 'http.route': route, 'mlx.request.id': httpRequestId, 'mlx.job.id': req.id,
        'gen_ai.request.model': req.model, 'mlx.stream': req.stream,
      },
    }, parent);
    const c = this.core.config.caching;
    const cacheable = (c.dedupe.enabled || c.responseCache.enabled) && req.cacheBypass !== true && isShareable(req, c.shareNondeterministic);
    if (this.traced.size >= TRACED_MAX) throw new Error(`request tracer: more than ${TRACED_MAX} requests traced`);
    this.traced.set(req.id, { server, cacheable, client: undefined, attempts: 0, firstToken: false });
  }

  /**
   * A one-shot call the core does not track (embeddings): a server span and its client span to the
   * worker, whose context goes in the call's gRPC metadata. `end` closes both (with an error code, as failed).
   */
  oneShot(headers: IncomingHttpHeaders, route: string, httpRequestId: string, workerId: string): { traceparent: string; end(errorCode?: string): void } {
    const parent = extractContext(firstValue(headers.traceparent), firstValue(headers.tracestate));
    const server = this.tracer.startSpan('gateway.request', {
      kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': route, 'mlx.request.id': httpRequestId },
    }, parent);
    server.addEvent('gateway.route', { 'mlx.worker.id': workerId, 'mlx.attempt': 1 });
    const client = this.tracer.startSpan('worker.call', { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'mlx.worker.id': workerId } }, contextOf(server));
    return {
      traceparent: traceparentOf(client),
      end: (errorCode) => {
        if (errorCode !== undefined) for (const s of [client, server]) s.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
        client.end();
        server.end();
      },
    };
  }

  /** The `traceparent` for the worker: the current attempt's client span ('' when not traced). */
  traceparentFor(id: RequestId): string {
    const t = this.traced.get(id);
    return t?.client === undefined ? '' : traceparentOf(t.client);
  }

  /** A worker event, before the core handles it: ends the attempt's client span on done/error. */
  workerEvent(ev: WorkerEvent): void {
    const t = this.traced.get(ev.requestId);
    if (t?.client === undefined) return;
    if (ev.kind === 'tokens') {
      if (!t.firstToken) t.client.addEvent('first_token');
      t.firstToken = true;
      return;
    }
    if (ev.kind === 'done') {
      t.client.setAttributes({ 'gen_ai.usage.input_tokens': ev.output.promptTokens, 'gen_ai.usage.output_tokens': ev.output.completionTokens });
    } else {
      t.client.setStatus({ code: SpanStatusCode.ERROR, message: ev.failure.code });
      t.server.addEvent('gateway.worker_error', { 'mlx.worker.id': ev.workerId, 'mlx.error.code': ev.failure.code });
    }
    t.client.end();
    t.client = undefined;
  }

  /** What the core decided for one event: its commands, before the driver executes them. */
  decided(event: GatewayEvent, commands: readonly Command[]): void {
    for (const c of commands) this.command(c);
    if (event.type === 'requestArrived') {
      const id = event.req.id;
      const t = this.traced.get(id);
      if (t !== undefined && t.attempts === 0 && !commands.some((c) => c.type !== 'wakeAt' && touches(c, id))) t.server.addEvent('gateway.queued');
    } else if (event.type === 'workerEvent' && event.event.kind === 'error' && event.event.failure.clientFault !== true) {
      this.noteBreaker(event.event.requestId, event.event.workerId);
    }
  }

  private command(c: Command): void {
    switch (c.type) {
      case 'dispatch':
        for (const r of c.requests) this.dispatched(r.id, c.workerId, c.requests.length);
        return;
      case 'attachFollower':
        this.traced.get(c.followerId)?.server.addEvent('gateway.coalesced', { 'mlx.leader.id': c.leaderId });
        return;
      case 'detachFollower':
        this.traced.get(c.followerId)?.server.addEvent('gateway.uncoalesced', { 'mlx.leader.id': c.leaderId });
        return;
      case 'cancel':
        this.traced.get(c.requestId)?.client?.addEvent('cancelled');
        return;
      case 'deliver':
      case 'wakeAt':
      case 'canaryRolledBack':
      case 'loadModel':
        return;
      default:
        this.end(c.requestId, c);
    }
  }

  private dispatched(id: RequestId, workerId: string, batchSize: number): void {
    const t = this.traced.get(id);
    if (t === undefined) return;
    if (t.client !== undefined) {
      // A new attempt before the last one ended (its worker was lost without an event).
      t.client.setStatus({ code: SpanStatusCode.ERROR, message: 'superseded by a retry' });
      t.client.end();
    }
    t.attempts++;
    if (t.attempts === 1 && t.cacheable) t.server.addEvent('gateway.cache_miss');
    if (t.attempts > 1) t.server.addEvent('gateway.retry', { 'mlx.attempt': t.attempts });
    t.server.addEvent('gateway.route', { 'mlx.worker.id': workerId, 'mlx.batch.size': batchSize, 'mlx.attempt': t.attempts });
    t.firstToken = false;
    t.client = this.tracer.startSpan('worker.generate', {
      kind: SpanKind.CLIENT,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': 'mlxserving.worker.v1.Worker', 'rpc.method': 'Session', 'mlx.worker.id': workerId, 'mlx.attempt': t.attempts },
    }, contextOf(t.server));
  }

  private noteBreaker(id: RequestId, workerId: string): void {
    const t = this.traced.get(id);
    if (t === undefined) return;
    const state = this.core.workerInfo(this.nowMs()).find((w) => w.id === workerId)?.breaker;
    if (state !== undefined && state !== 'closed') t.server.addEvent('gateway.breaker', { 'mlx.worker.id': workerId, 'mlx.breaker.state': state });
  }

  private end(id: RequestId, c: Extract<Command, { type: 'serveFromCache' | 'complete' | 'reject' | 'fail' }>): void {
    const t = this.traced.get(id);
    if (t === undefined) return;
    this.traced.delete(id);
    const s = t.server;
    switch (c.type) {
      case 'serveFromCache':
        s.addEvent('gateway.cache_hit', { 'mlx.cache.source': c.source });
        break;
      case 'complete':
        s.setAttributes({ 'mlx.served.via': c.via, 'gen_ai.usage.input_tokens': c.usage.promptTokens, 'gen_ai.usage.output_tokens': c.usage.completionTokens });
        break;
      default:
        s.addEvent(c.type === 'reject' ? 'gateway.rejected' : 'gateway.failed', { 'mlx.error.code': c.code, 'http.response.status_code': c.status });
        s.setAttribute('http.response.status_code', c.status);
        s.setStatus({ code: SpanStatusCode.ERROR, message: c.code });
    }
    if (t.client !== undefined) {
      t.client.addEvent('abandoned');
      t.client.end();
    }
    s.end();
  }
}

/** Whether a command names this request (as the request, a recipient, a follower or a dispatched job). */
function touches(c: Command, id: RequestId): boolean {
  switch (c.type) {
    case 'dispatch': return c.requests.some((r) => r.id === id);
    case 'attachFollower':
    case 'detachFollower': return c.followerId === id;
    case 'deliver': return c.recipients.includes(id);
    case 'wakeAt':
    case 'canaryRolledBack':
    case 'loadModel': return false;
    default: return c.requestId === id;
  }
}
