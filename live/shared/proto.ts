// Loads live/proto/worker.proto once, for the gateway (client) and the worker nodes (servers).
//
// Loader options, fixed for every process of the cluster so both ends see the same shapes:
//   keepCase: false  → fields are camelCase in JS (`request_id` ⇒ `requestId`)
//   longs: Number    → int64/uint64 become numbers (seeds, byte counts and unix ms fit in 2^53)
//   defaults: true   → scalar and repeated fields are always present on decoded messages
//   oneofs: true     → decoded messages carry a virtual `kind` naming the member that is set
// The TypeScript interfaces below mirror the proto; "In" types are what a sender may write (missing
// fields take proto defaults), decoded types are what a receiver gets.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const WORKER_PROTO_PATH = fileURLToPath(new URL('../proto/worker.proto', import.meta.url));

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Keepalive settings for gateway↔worker channels (both ends must allow the client's ping rate). */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.max_pings_without_data': 0,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/** Server options matching CHANNEL_OPTIONS (permit the clients' keepalive pings). */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

// ───────────────────────────── message shapes ─────────────────────────────

export interface ChatMessageMsg {
  role: string;
  content: string;
  /** Assistant: OpenAI's tool_calls array as JSON text; empty or absent = none. */
  toolCallsJson?: string;
  /** Tool result: the id of the call it answers; empty or absent = none. */
  toolCallId?: string;
}

export interface GenerateRequestMsg {
  requestId: string;
  model: string;
  prompt: string;
  messages: ChatMessageMsg[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number | null;
  stop: string[];
  sessionId: string;
  traceId: string;
  deadlineUnixMs: number;
  /** Send each token's log-probability; absent in messages from senders before issue 17 (= false). */
  logprobs?: boolean;
  /** With logprobs: the N (0..20) most likely alternatives of each token. */
  topLogprobs?: number;
  /** Structured output: OpenAI's response_format (json_object / json_schema) as JSON text; empty or absent = free text. */
  responseFormatJson?: string;
  /** Tools: OpenAI's tools array as JSON text; empty or absent = none. */
  toolsJson?: string;
  /** OpenAI's tool_choice as JSON text; empty or absent = the default. */
  toolChoiceJson?: string;
  /** W3C trace context (live/shared/tracing.ts) of the gateway's span for this attempt; empty or absent = not traced. */
  traceparent?: string;
}

export interface GenerateBatchMsg {
  requests: GenerateRequestMsg[];
}

export interface CancelMsg {
  requestId: string;
}

/** What the gateway sends on a Session stream. */
export type GatewayMessageIn = { batch: GenerateBatchMsg; cancel?: undefined } | { cancel: CancelMsg; batch?: undefined };
/** What a worker receives on a Session stream. */
export type GatewayMessageMsg =
  | { kind: 'batch'; batch: GenerateBatchMsg; cancel?: null }
  | { kind: 'cancel'; cancel: CancelMsg; batch?: null };

export interface TokenCandidateMsg {
  token: string;
  /** Decoded: a Buffer; a sender may write any Uint8Array. */
  bytes: Uint8Array;
  logprob: number;
}

export interface TokenLogprobMsg extends TokenCandidateMsg {
  topLogprobs: TokenCandidateMsg[];
}

export interface TokensMsg {
  text: string;
  tokenIds: number[];
  count: number;
  /** One per token id when the request asked for logprobs, else empty. */
  logprobs: TokenLogprobMsg[];
}

export interface DoneMsg {
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  queueMs: number;
  prefillMs: number;
  decodeMs: number;
  /** The stop string that ended the output; "" when none did. */
  stopSequence: string;
}

export interface ErrorMsg {
  code: string;
  message: string;
  clientFault: boolean;
  /** runtime_lost (core/worker/runtime-lost.ts): another runtime of the model is alive on this worker. */
  retryHere: boolean;
}

/** One event as a worker writes it (exactly one of tokens, done, error). */
export type GenerateEventIn =
  | { requestId: string; tokens: Partial<TokensMsg> }
  | { requestId: string; done: Partial<DoneMsg> }
  | { requestId: string; error: Partial<ErrorMsg> };

/** One event as the gateway decodes it. */
export type GenerateEventMsg =
  | { requestId: string; kind: 'tokens'; tokens: TokensMsg }
  | { requestId: string; kind: 'done'; done: DoneMsg }
  | { requestId: string; kind: 'error'; error: ErrorMsg };

export interface EventBatchIn {
  events: GenerateEventIn[];
}

export interface EventBatchMsg {
  events: GenerateEventMsg[];
}

export interface EmbedRequestMsg {
  model: string;
  input: string[];
  traceId: string;
}

export interface EmbeddingMsg {
  values: number[];
}

export interface EmbedResponseMsg {
  data: EmbeddingMsg[];
  promptTokens: number;
}

export interface ModelInfoMsg {
  id: string;
  path: string;
  version: string;
  bytes: number;
  loaded: boolean;
}

export interface ModelsResponseMsg {
  models: ModelInfoMsg[];
}

export interface WorkerStatusMsg {
  workerId: string;
  models: string[];
  maxConcurrent: number;
  healthy: boolean;
  draining: boolean;
  kvUsedBytes: number;
  kvCapacityBytes: number;
  activeSequences: number;
  runtimesAlive: number;
  runtimesTotal: number;
  /** MLX device(s) the runtimes reported (e.g. "Device(gpu, 0)"); "" before any came up. */
  device?: string;
  /** BLAS the runtimes reported ("openblas", "reference", "reference (openblas probe failed: …)"); "" before any came up. */
  blas?: string;
  /** Memory a model could still be loaded into (the gateway's model placement); unset (null when decoded): not known. */
  memoryFreeBytes?: number | null;
  /** Models of `models` held unloaded now (idle unload). */
  coldModels?: string[];
}

export interface HealthResponseMsg {
  healthy: boolean;
  ready: boolean;
  detail: string;
}

export interface DrainRequestMsg {
  drain: boolean;
}

export interface DrainResponseMsg {
  draining: boolean;
  inFlight: number;
}

export interface LoadModelRequestMsg {
  model: string;
  path: string;
}

export interface UnloadModelRequestMsg {
  model: string;
}

export type Empty = Record<string, never>;

// ───────────────────────────── service ─────────────────────────────

/** The server side of the Worker service, typed (pass to `server.addService(proto.service, impl)`). */
export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  session: grpc.handleBidiStreamingCall<GatewayMessageMsg, EventBatchIn>;
  generate: grpc.handleServerStreamingCall<GenerateRequestMsg, GenerateEventIn>;
  embed: grpc.handleUnaryCall<EmbedRequestMsg, Partial<EmbedResponseMsg>>;
  models: grpc.handleUnaryCall<Empty, Partial<ModelsResponseMsg>>;
  stats: grpc.handleUnaryCall<Empty, Partial<WorkerStatusMsg>>;
  health: grpc.handleUnaryCall<Empty, Partial<HealthResponseMsg>>;
  drain: grpc.handleUnaryCall<DrainRequestMsg, Partial<DrainResponseMsg>>;
  loadModel: grpc.handleUnaryCall<LoadModelRequestMsg, Partial<ModelsResponseMsg>>;
  unloadModel: grpc.handleUnaryCall<UnloadModelRequestMsg, Partial<ModelsResponseMsg>>;
}

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

/** The client side of the Worker service, typed. */
export interface WorkerClient extends grpc.Client {
  session(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<GatewayMessageIn, EventBatchMsg>;
  generate(req: Partial<GenerateRequestMsg>, options?: grpc.CallOptions): grpc.ClientReadableStream<GenerateEventMsg>;
  embed: Unary<EmbedRequestMsg, EmbedResponseMsg>;
  models: Unary<Empty, ModelsResponseMsg>;
  stats: Unary<Empty, WorkerStatusMsg>;
  health: Unary<Empty, HealthResponseMsg>;
  drain: Unary<DrainRequestMsg, DrainResponseMsg>;
  loadModel: Unary<LoadModelRequestMsg, ModelsResponseMsg>;
  unloadModel: Unary<UnloadModelRequestMsg, ModelsResponseMsg>;
}

export interface WorkerProto {
  /** For `server.addService(service, handlers)`. */
  readonly service: grpc.ServiceDefinition;
  /** `new Client(address, credentials, options)`. */
  readonly Client: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => WorkerClient;
}

let loaded: WorkerProto | undefined;

/** Loads (once per process) and returns the Worker service definition and client constructor. */
export function loadWorkerProto(): WorkerProto {
  if (loaded !== undefined) return loaded;
  const def = protoLoader.loadSync(WORKER_PROTO_PATH, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { mlxserving: { worker: { v1: { Worker: grpc.ServiceClientConstructor } } } };
  const ctor = pkg.mlxserving.worker.v1.Worker;
  loaded = { service: ctor.service, Client: ctor as unknown as WorkerProto['Client'] };
  return loaded;
}

/** Creates a client for `address` ("unix:///path/to.sock" or "host:port"), insecure, with keepalive. */
export function createWorkerClient(address: string, options: grpc.ClientOptions = {}): WorkerClient {
  const { Client } = loadWorkerProto();
  return new Client(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...options });
}

/** Promisified unary call with a deadline. */
export function callUnary<Req, Res>(client: WorkerClient, method: (this: WorkerClient, ...a: Parameters<Unary<Req, Res>>) => grpc.ClientUnaryCall, req: Req, timeoutMs: number, metadata = new grpc.Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err !== null) reject(err);
      else resolve(res as Res);
    });
  });
}
