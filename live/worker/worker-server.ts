// The worker node's gRPC server (live/proto/worker.proto): a drop-in replacement for the echo worker.
//
// Session (the gateway's hot path): each GenerateBatch's requests are submitted to the node; events
// ready in the same turn of the event loop are coalesced into one EventBatch. A Cancel, or the stream
// ending/breaking, cancels the requests (the runtime gets JSON-RPC `cancel`): a gateway that lost the
// stream reports its requests lost and retries them elsewhere, so finishing them here would waste
// compute. Generate is the same for one request on a server stream; its gRPC deadline becomes the
// request's deadline. Unary calls map WorkerError codes onto gRPC status codes.
import { existsSync, unlinkSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  loadWorkerProto, SERVER_OPTIONS, type GatewayMessageMsg, type GenerateEventIn, type GenerateRequestMsg, type WorkerHandlers,
} from '../shared/proto.js';
import type { Tracing } from '../shared/tracing.js';
import { toWorkerError, WorkerError } from './errors.js';
import { traceparentOfMetadata, WorkerTracer } from './request-tracing.js';
import type { EventSink, JobHandle, WorkerNode } from './worker-node.js';

export interface WorkerServer {
  /** The bound address, usable by a client ("127.0.0.1:PORT" or "unix:///path"). */
  readonly address: string;
  /** Ends open streams and stops the server (does not stop the node). */
  stop(): Promise<void>;
  /** Closes at once, breaking every stream. */
  kill(): void;
}

/** Requests one Session stream may have running at once (the assertion's bound; the node refuses earlier). */
const SESSION_REQUESTS_MAX = 1_000_000;
const NOOP: JobHandle = { cancel: () => undefined };

export async function startWorkerServer(node: WorkerNode, requestedAddress = '127.0.0.1:0', tracing?: Tracing): Promise<WorkerServer> {
  const { service } = loadWorkerProto();
  const server = new grpc.Server(SERVER_OPTIONS);
  const sessions = new Set<grpc.ServerDuplexStream<GatewayMessageMsg, unknown>>();
  // Tracing off (the default): requests go straight to the node, no span work at all.
  const tracer = tracing?.tracer === undefined ? undefined : new WorkerTracer(tracing.tracer, node.cfg.id);
  const nodeSubmit = (r: GenerateRequestMsg, sink: EventSink): JobHandle => node.submit(r, sink);
  const submitTraced = (r: GenerateRequestMsg, sink: EventSink, metadata?: grpc.Metadata): JobHandle =>
    tracer === undefined ? node.submit(r, sink) : tracer.submit(r, sink, nodeSubmit, traceparentOfMetadata(metadata));

  const handlers: WorkerHandlers = {
    session: (call) => {
      sessions.add(call);
      const handles = new Map<string, JobHandle>();
      let pending: GenerateEventIn[] = [];
      let flushScheduled = false;
      let closed = false;
      const flush = () => {
        flushScheduled = false;
        const events = pending;
        pending = [];
        if (!closed && !call.destroyed && !call.writableEnded) call.write({ events });
      };
      const emit = (ev: GenerateEventIn) => {
        if (closed) return;
        if (!('tokens' in ev)) handles.delete(ev.requestId);
        pending.push(ev);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      };
      const submit = (r: GenerateRequestMsg) => {
        if (handles.has(r.requestId)) {
          emit({ requestId: r.requestId, error: new WorkerError('duplicate_request', `request ${r.requestId} is already running on this stream`).toEvent() });
          return;
        }
        if (handles.size >= SESSION_REQUESTS_MAX) throw new Error(`session: more than ${SESSION_REQUESTS_MAX} requests running`);
        handles.set(r.requestId, NOOP); // a refusal emits (and deletes) synchronously
        const h = submitTraced(r, emit, call.metadata);
        if (handles.has(r.requestId)) handles.set(r.requestId, h);
      };
      call.on('data', (msg: GatewayMessageMsg) => {
        if (msg.kind === 'batch' && msg.batch !== null && msg.batch !== undefined) {
          for (const r of msg.batch.requests) submit(r);
        } else if (msg.kind === 'cancel' && msg.cancel !== null && msg.cancel !== undefined) {
          const h = handles.get(msg.cancel.requestId);
          handles.delete(msg.cancel.requestId);
          h?.cancel();
        }
      });
      const close = () => {
        if (closed) return;
        closed = true;
        sessions.delete(call);
        const hs = [...handles.values()];
        handles.clear();
        for (const h of hs) h.cancel();
      };
      call.on('end', () => {
        close();
        call.end();
      });
      call.on('error', close);
      call.on('cancelled', close);
      call.on('close', close);
    },

    generate: (call) => {
      const req = { ...call.request, deadlineUnixMs: deadlineOf(call.request.deadlineUnixMs, call.getDeadline()) };
      let ended = false;
      const h = submitTraced(req, (ev) => {
        if (ended || call.cancelled || call.writableEnded) return;
        call.write(ev);
        if (!('tokens' in ev)) {
          ended = true;
          call.end();
        }
      }, call.metadata);
      call.on('cancelled', () => {
        ended = true;
        h.cancel();
      });
    },

    embed: (call, cb) => {
      const traced = tracer?.call('worker.embed', traceparentOfMetadata(call.metadata), call.request.traceId);
      node.embed(call.request).then((res) => {
        traced?.end();
        cb(null, res);
      }, (err: unknown) => {
        const e = toWorkerError(err);
        traced?.end(e.code);
        cb(e.toGrpc());
      });
    },
    models: (_call, cb) => cb(null, { models: node.modelInfos() }),
    stats: (_call, cb) => cb(null, node.status()),
    health: (_call, cb) => cb(null, node.health()),
    drain: (call, cb) => cb(null, node.setDraining(call.request.drain)),
    loadModel: (call, cb) => {
      const { model, path } = call.request;
      if (model.length === 0 || path.length === 0) {
        cb(new WorkerError('invalid_request', 'model and path are required').toGrpc());
        return;
      }
      node.loadModel({ id: model, path }).then(() => cb(null, { models: node.modelInfos() }), (err: unknown) => cb(toWorkerError(err).toGrpc()));
    },
    unloadModel: (call, cb) => {
      node.unloadModel(call.request.model).then((found) => {
        if (found) cb(null, { models: node.modelInfos() });
        else cb(new WorkerError('model_not_loaded', `model ${JSON.stringify(call.request.model)} is not loaded`).toGrpc());
      }, (err: unknown) => cb(toWorkerError(err).toGrpc()));
    },
  };
  server.addService(service, handlers);

  if (requestedAddress.startsWith('unix:')) {
    const path = requestedAddress.replace(/^unix:(\/\/)?/, '');
    if (existsSync(path)) unlinkSync(path); // a stale socket from a previous run
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(requestedAddress, grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p)));
  });
  const address = requestedAddress.startsWith('unix:') ? requestedAddress : `${requestedAddress.slice(0, requestedAddress.lastIndexOf(':'))}:${port}`;
  return {
    address,
    stop: () => new Promise<void>((resolve) => {
      for (const c of sessions) c.end();
      const force = setTimeout(() => server.forceShutdown(), 2_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }),
    kill: () => {
      for (const c of sessions) c.destroy(new Error('killed'));
      server.forceShutdown();
    },
  };
}

/** The earlier of the request's own deadline and the call's gRPC deadline (unix ms; 0 = none). */
function deadlineOf(requestMs: number, callDeadline: grpc.Deadline): number {
  const d = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
  const callMs = Number.isFinite(d) && d > 0 ? d : 0;
  if (requestMs > 0 && callMs > 0) return Math.min(requestMs, callMs);
  return requestMs > 0 ? requestMs : callMs;
}
