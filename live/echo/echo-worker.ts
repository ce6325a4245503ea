// An echo worker: a gRPC server implementing the Worker service that "generates" by streaming the
// prompt's words back, one word per token, up to max_tokens, then Done. It stands in for a worker
// node in the gateway's tests and benchmark.
//
// Timing: `tokenDelayMs = 0` answers at once (all words in one Tokens event, then Done, in the same
// EventBatch); `tokenDelayMs > 0` sends one word per interval, after `firstTokenDelayMs`, so tests can
// exercise disconnects, cancels and a worker dying mid-stream. Events ready in the same tick are
// coalesced into one EventBatch, as a real worker node does.
import * as grpc from '@grpc/grpc-js';
import {
  loadWorkerProto, SERVER_OPTIONS, type GatewayMessageMsg, type GenerateEventIn, type GenerateRequestMsg, type TokenLogprobMsg, type WorkerHandlers,
} from '../shared/proto.js';

/**
 * With logprobs asked for: the echo is certain of every token (logprob 0), and it knows no
 * alternative but the token itself (top_logprobs holds at most that one).
 */
function echoLogprobs(r: GenerateRequestMsg, tokens: readonly string[]): TokenLogprobMsg[] {
  if (r.logprobs !== true) return [];
  return tokens.map((token) => {
    const c = { token, bytes: Buffer.from(token), logprob: 0 };
    return { ...c, topLogprobs: (r.topLogprobs ?? 0) > 0 ? [c] : [] };
  });
}

export interface EchoWorkerOptions {
  readonly id: string;
  /** "127.0.0.1:0" (a free port), "host:port" or "unix:///path.sock". */
  readonly address?: string;
  readonly models?: readonly string[];
  readonly tokenDelayMs?: number;
  readonly firstTokenDelayMs?: number;
  readonly maxConcurrent?: number;
  readonly embeddingDims?: number;
  /** Cycle through the prompt's words until max_tokens (long outputs from short prompts). */
  readonly repeatToMaxTokens?: boolean;
  /** Every Nth request of the session stream fails with generation_failed (a bad model version); default never. */
  readonly failEvery?: number;
  /** LoadModel answers after this long (a model's load time); default 0. */
  readonly loadDelayMs?: number;
  /** Reported in Stats as memory_free_bytes (model placement); default: not reported. */
  readonly memoryFreeBytes?: number;
  /** Reported in Stats as cold_models (models held unloaded: warm-first routing); settable later on the handle. */
  readonly coldModels?: readonly string[];
}

export interface EchoCounters {
  sessions: number;
  batches: number;
  requests: number;
  cancels: number;
  embeds: number;
  statsCalls: number;
  /** LoadModel calls. */
  loads: number;
  /** Largest GenerateBatch seen. */
  batchSizeMax: number;
}

export interface EchoWorker {
  readonly id: string;
  /** The bound address, usable by a client ("127.0.0.1:PORT" or "unix:///path"). */
  readonly address: string;
  readonly counters: EchoCounters;
  /** Ids of requests received, in order (bounded to the last 10,000). */
  readonly requestIds: string[];
  readonly traceIds: string[];
  readonly cancelledIds: string[];
  tokenDelayMs: number;
  firstTokenDelayMs: number;
  loadDelayMs: number;
  /** Stats' memory_free_bytes; undefined: not reported. */
  memoryFreeBytes: number | undefined;
  coldModels: readonly string[];
  /** LoadModel fails (RESOURCE_EXHAUSTED, as a worker out of memory) while true. */
  failLoads: boolean;
  /** Reports unhealthy in Stats/Health while true. */
  unhealthy: boolean;
  /** Leaves Stats calls unanswered while true (a hung process: the gateway hears nothing). */
  statsHang: boolean;
  /** Closes the server at once, breaking every stream (a crash, as the gateway sees it). */
  kill(): void;
  /** Graceful close. */
  stop(): Promise<void>;
}

const LOG_MAX = 10_000;

export async function startEchoWorker(opts: EchoWorkerOptions): Promise<EchoWorker> {
  const { service } = loadWorkerProto();
  const server = new grpc.Server(SERVER_OPTIONS);
  const models = new Set(opts.models ?? ['echo']);
  const dims = opts.embeddingDims ?? 8;
  let draining = false;
  let active = 0;
  const counters: EchoCounters = { sessions: 0, batches: 0, requests: 0, cancels: 0, embeds: 0, statsCalls: 0, loads: 0, batchSizeMax: 0 };
  const requestIds: string[] = [];
  const traceIds: string[] = [];
  const cancelledIds: string[] = [];
  const calls = new Set<grpc.ServerDuplexStream<GatewayMessageMsg, unknown>>();

  const self: EchoWorker = {
    id: opts.id,
    address: '',
    counters,
    requestIds,
    traceIds,
    cancelledIds,
    tokenDelayMs: opts.tokenDelayMs ?? 0,
    firstTokenDelayMs: opts.firstTokenDelayMs ?? 0,
    loadDelayMs: opts.loadDelayMs ?? 0,
    memoryFreeBytes: opts.memoryFreeBytes,
    coldModels: opts.coldModels ?? [],
    failLoads: false,
    unhealthy: false,
    statsHang: false,
    kill: () => {
      for (const c of calls) c.destroy(new Error('killed'));
      server.forceShutdown();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of calls) c.end();
        server.tryShutdown(() => resolve());
      }),
  };

  const status = () => ({
    workerId: opts.id, models: [...models], maxConcurrent: opts.maxConcurrent ?? 64, healthy: !self.unhealthy, draining,
    kvUsedBytes: active * 1024, kvCapacityBytes: 1024 * 1024 * 1024, activeSequences: active, runtimesAlive: 1, runtimesTotal: 1,
    ...(self.memoryFreeBytes !== undefined && { memoryFreeBytes: self.memoryFreeBytes }),
    coldModels: [...self.coldModels],
  });

  const handlers: WorkerHandlers = {
    session: (call) => {
      counters.sessions++;
      calls.add(call);
      const timers = new Map<string, NodeJS.Timeout>();
      let pending: GenerateEventIn[] = [];
      let flushScheduled = false;
      const emit = (ev: GenerateEventIn) => {
        pending.push(ev);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(() => {
            flushScheduled = false;
            const events = pending;
            pending = [];
            if (!call.destroyed && !call.writableEnded) call.write({ events });
          });
        }
      };
      const finish = (id: string) => {
        timers.delete(id);
        active--;
      };
      const start = (r: GenerateRequestMsg) => {
        active++;
        const words = promptWords(r);
        const out = opts.repeatToMaxTokens === true && words.length > 0
          ? Array.from({ length: r.maxTokens }, (_, i) => words[i % words.length]!)
          : words.slice(0, Math.max(0, r.maxTokens));
        const finishReason = opts.repeatToMaxTokens === true || words.length > r.maxTokens ? 'length' : 'stop';
        const done = { done: { finishReason, promptTokens: words.length, completionTokens: out.length } };
        if (self.tokenDelayMs <= 0 && self.firstTokenDelayMs <= 0) {
          if (out.length > 0) emit({ requestId: r.requestId, tokens: { text: out.join(' '), count: out.length, logprobs: echoLogprobs(r, out.map((w, i) => (i === 0 ? w : ` ${w}`))) } });
          emit({ requestId: r.requestId, ...done });
          active--;
          return;
        }
        let i = 0;
        const step = () => {
          if (i >= out.length) {
            emit({ requestId: r.requestId, ...done });
            finish(r.requestId);
            return;
          }
          const text = i === 0 ? out[i]! : ` ${out[i]!}`;
          emit({ requestId: r.requestId, tokens: { text, count: 1, logprobs: echoLogprobs(r, [text]) } });
          i++;
          timers.set(r.requestId, setTimeout(step, self.tokenDelayMs));
        };
        timers.set(r.requestId, setTimeout(step, self.firstTokenDelayMs));
      };
      call.on('data', (msg: GatewayMessageMsg) => {
        if (msg.kind === 'batch') {
          counters.batches++;
          counters.batchSizeMax = Math.max(counters.batchSizeMax, msg.batch.requests.length);
          for (const r of msg.batch.requests) {
            counters.requests++;
            log(requestIds, r.requestId);
            log(traceIds, r.traceId);
            if (!models.has(r.model)) emit({ requestId: r.requestId, error: { code: 'model_not_loaded', message: `model ${r.model} is not loaded`, clientFault: false } });
            else if (opts.failEvery !== undefined && counters.requests % opts.failEvery === 0) emit({ requestId: r.requestId, error: { code: 'generation_failed', message: 'injected failure (failEvery)', clientFault: false } });
            else start(r);
          }
        } else {
          counters.cancels++;
          log(cancelledIds, msg.cancel.requestId);
          const t = timers.get(msg.cancel.requestId);
          if (t !== undefined) {
            clearTimeout(t);
            finish(msg.cancel.requestId);
          }
        }
      });
      const close = () => {
        calls.delete(call);
        for (const t of timers.values()) clearTimeout(t);
        active -= timers.size;
        timers.clear();
      };
      call.on('end', () => {
        close();
        call.end();
      });
      call.on('error', close);
      call.on('cancelled', close);
    },
    generate: (call) => {
      const words = promptWords(call.request).slice(0, call.request.maxTokens);
      if (words.length > 0) call.write({ requestId: call.request.requestId, tokens: { text: words.join(' '), count: words.length } });
      call.write({ requestId: call.request.requestId, done: { finishReason: 'stop', promptTokens: words.length, completionTokens: words.length } });
      call.end();
    },
    embed: (call, cb) => {
      counters.embeds++;
      if (!models.has(call.request.model)) {
        cb({ code: grpc.status.NOT_FOUND, details: `model ${call.request.model} is not loaded` });
        return;
      }
      const data = call.request.input.map((text) => ({ values: embedText(text, dims) }));
      const promptTokens = call.request.input.reduce((n, t) => n + t.split(/\s+/).filter((w) => w.length > 0).length, 0);
      cb(null, { data, promptTokens });
    },
    models: (_call, cb) => cb(null, { models: [...models].map((id) => ({ id, path: `/echo/${id}`, version: '1', bytes: 0, loaded: true })) }),
    stats: (_call, cb) => {
      counters.statsCalls++;
      if (self.statsHang) return; // no answer: the caller's deadline ends the call
      cb(null, status());
    },
    health: (_call, cb) => cb(null, { healthy: !self.unhealthy, ready: models.size > 0, detail: 'echo' }),
    drain: (call, cb) => {
      draining = call.request.drain;
      cb(null, { draining, inFlight: active });
    },
    loadModel: (call, cb) => {
      counters.loads++;
      setTimeout(() => {
        if (self.failLoads) {
          cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: `not enough memory to load ${call.request.model}` });
          return;
        }
        models.add(call.request.model);
        cb(null, { models: [...models].map((id) => ({ id, path: `/echo/${id}`, version: '1', bytes: 0, loaded: true })) });
      }, self.loadDelayMs);
    },
    unloadModel: (call, cb) => {
      models.delete(call.request.model);
      cb(null, { models: [...models].map((id) => ({ id, path: `/echo/${id}`, version: '1', bytes: 0, loaded: true })) });
    },
  };
  server.addService(service, handlers);

  const requested = opts.address ?? '127.0.0.1:0';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(requested, grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p)));
  });
  const address = requested.startsWith('unix:') ? requested : `${requested.slice(0, requested.lastIndexOf(':'))}:${port}`;
  return Object.assign(self, { address });
}

function promptWords(r: GenerateRequestMsg): string[] {
  const text = r.messages.length > 0 ? r.messages.map((m) => m.content).join(' ') : r.prompt;
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/** A deterministic unit vector from the text (FNV-1a per dimension). */
function embedText(text: string, dims: number): number[] {
  const v: number[] = [];
  let norm = 0;
  for (let d = 0; d < dims; d++) {
    let h = 0x811c9dc5 ^ d;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const x = ((h >>> 0) / 0xffffffff) * 2 - 1;
    v.push(x);
    norm += x * x;
  }
  const n = Math.sqrt(norm) || 1;
  return v.map((x) => x / n);
}

function log(list: string[], id: string): void {
  list.push(id);
  if (list.length > LOG_MAX) list.splice(0, list.length - LOG_MAX);
}
