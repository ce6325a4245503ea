// A typed JSON-RPC 2.0 client for one python MLX runtime, over its stdio (python/mlx_runtime/server.py:
// one JSON object per line each way). Many calls run at once on one pipe: responses are matched to
// calls by JSON-RPC id, and `tokens` notifications to generate calls by their `request_id` (a
// generate streams notifications, then answers with its final result). The transport is any pair of
// streams, so tests can drive the client without a process.
//
// Failures are values of three kinds: RuntimeRpcError (the runtime answered with an error: code,
// message, data.reason), RuntimeGoneError (the pipe closed with the call pending: the process died)
// and RuntimeTimeoutError (no answer within the call's timeout).
//
// Bounds: at most `pendingMax` calls pending (beyond: the call fails at once, it is never queued),
// and a line longer than `lineBytesMax` is a protocol violation that closes the client.
import type { Readable, Writable } from 'node:stream';

// ───────────────────────────── wire types ─────────────────────────────

export interface ChatMessageParam {
  readonly role: string;
  readonly content: string;
  /** Assistant: OpenAI's tool_calls (python/mlx_runtime/tools.py). */
  readonly tool_calls?: unknown;
  /** Tool result: the call it answers. */
  readonly tool_call_id?: string;
}

export interface GenerateParams {
  readonly request_id: string;
  readonly model?: string;
  readonly prompt?: string;
  readonly messages?: readonly ChatMessageParam[];
  readonly max_tokens?: number;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly session_id?: string;
  readonly stream?: boolean;
  /** Each token's log-probability in the notifications and the result; top_logprobs alternatives (0..20). */
  readonly logprobs?: boolean;
  readonly top_logprobs?: number;
  /** Structured output (python/mlx_runtime/structured.py): {type: json_object} or {type: json_schema, json_schema: {schema}}. */
  readonly response_format?: unknown;
  /** Tool calls (python/mlx_runtime/tools.py): OpenAI's tools array and tool_choice. */
  readonly tools?: unknown;
  readonly tool_choice?: unknown;
  /** W3C trace context of the worker node's span: the runtime's runtime.generate span is its child (python/mlx_runtime/tracing.py). */
  readonly traceparent?: string;
  /** Tests only (the runtime must run with --enable-fault-injection). */
  readonly fault?: { readonly error_after_tokens: number };
}

export interface TokensNotification {
  readonly request_id: string;
  readonly text: string;
  readonly token_ids: readonly number[];
  readonly completion_tokens: number;
  readonly prompt_tokens: number;
  /** One per token id, when the request asked for logprobs. */
  readonly logprobs?: readonly RuntimeTokenLogprob[];
}

/** A token's log-probability as the runtime sends it (python/PROTOCOL.md, `generate`). */
export interface RuntimeTokenCandidate {
  readonly token_id: number;
  readonly token: string;
  readonly bytes: readonly number[];
  readonly logprob: number;
}

export interface RuntimeTokenLogprob extends RuntimeTokenCandidate {
  readonly top_logprobs: readonly RuntimeTokenCandidate[];
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly cached_tokens: number;
  readonly prefill_tokens: number;
}

export interface Timings {
  readonly queue_ms: number;
  readonly prefill_ms: number;
  readonly decode_ms: number;
  readonly ttft_ms: number;
  readonly total_ms: number;
  readonly decode_tokens_per_s: number | null;
}

export interface GenerateResult {
  readonly request_id: string;
  readonly model: string;
  readonly text: string;
  readonly token_ids: readonly number[];
  readonly finish_reason: 'stop' | 'length' | 'cancelled';
  /** The stop string that ended the output (finish "stop"), when one did. */
  readonly stop_sequence?: string;
  readonly usage: Usage;
  readonly timings: Timings;
}

export interface RuntimeModelInfo {
  readonly name: string;
  readonly path: string;
  readonly model_type?: string;
  readonly vocab_size: number;
  readonly num_layers: number;
  readonly hidden_size: number;
  readonly max_context: number;
  readonly model_bytes: number;
  readonly kv_bytes_per_token: number;
  readonly active_sequences: number;
  readonly load_ms: number;
}

export interface RuntimeStats {
  readonly active_sequences: number;
  readonly batch_size: number;
  readonly waiting_sequences: number;
  readonly max_sequences: number;
  readonly kv_bytes_in_use: number;
  readonly kv_bytes_reserved: number;
  readonly prompt_cache_bytes: number;
  /** The session prompt cache: entries kept (at most max_entries, the node's idleSessionsMax), hits and misses. */
  readonly prompt_cache?: { readonly entries: number; readonly max_entries: number; readonly hits: number; readonly misses: number; readonly evictions: number; readonly tokens_reused: number };
  readonly max_kv_bytes: number;
  /** Where max_kv_bytes came from: "configured", "gpu:total_memory", "cpu:physical_memory", … (runtimes since issue 15). */
  readonly kv_budget_source?: string;
  readonly model_bytes: number;
  readonly counters: Readonly<Record<string, number>>;
}

export interface RuntimeHealth {
  readonly status: 'ok' | 'draining';
  readonly models: readonly string[];
  readonly active_sequences: number;
  readonly pid: number;
  /** str(mx.default_device()), e.g. "Device(gpu, 0)". */
  readonly device?: string;
  readonly mlx_version?: string;
  readonly mlx_lm_version?: string | null;
  readonly blas?: string;
  readonly uptime_ms?: number;
  /** The KV budget, as in stats (runtimes since issue 15). */
  readonly max_kv_bytes?: number;
  readonly kv_budget_source?: string;
}

export interface EmbedResult {
  readonly model: string;
  readonly embeddings: readonly (readonly number[])[];
  readonly dim: number;
  readonly usage: { readonly prompt_tokens: number };
}

/** Methods other than generate: params → result. */
export interface RuntimeMethods {
  load_model: { params: { path: string; name?: string }; result: RuntimeModelInfo & { already_loaded: boolean } };
  unload_model: { params: { name: string }; result: { name: string; unloaded: boolean; cancelled: number } };
  list_models: { params: Record<string, never>; result: { models: RuntimeModelInfo[]; default: string | null } };
  cancel: { params: { request_id: string }; result: { request_id: string; cancelled: boolean } };
  tokenize: { params: { model?: string; text: string }; result: { model: string; token_ids: number[]; count: number } };
  embed: { params: { model?: string; input: string | readonly string[] }; result: EmbedResult };
  stats: { params: Record<string, never>; result: RuntimeStats };
  health: { params: Record<string, never>; result: RuntimeHealth };
  shutdown: { params: { mode: 'drain' | 'cancel' }; result: { ok: boolean; cancelled: number } };
}

// ───────────────────────────── errors ─────────────────────────────

/** JSON-RPC error codes of the runtime (python/mlx_runtime/errors.py). */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  modelNotFound: -32001,
  tooManySequences: -32002,
  kvCapacityExceeded: -32003,
  duplicateRequestId: -32004,
  shuttingDown: -32005,
  contextLengthExceeded: -32006,
  modelLoadFailed: -32007,
  generationFailed: -32008,
} as const;

export class RuntimeRpcError extends Error {
  override name = 'RuntimeRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data: Readonly<Record<string, unknown>>,
    readonly method: string,
  ) {
    super(message);
  }

  get reason(): string {
    return typeof this.data.reason === 'string' ? this.data.reason : 'server_error';
  }
}

export class RuntimeGoneError extends Error {
  override name = 'RuntimeGoneError';
}

export class RuntimeTimeoutError extends Error {
  override name = 'RuntimeTimeoutError';
}

// ───────────────────────────── client ─────────────────────────────

export interface RuntimeClientOptions {
  /** Calls pending at once (generate streams included). */
  readonly pendingMax?: number;
  readonly lineBytesMax?: number;
  /** Lines that are not protocol (a bug on either side) are reported here. */
  readonly onProtocolError?: (message: string) => void;
}

export interface CallOptions {
  /** 0 or absent: no timeout. */
  readonly timeoutMs?: number;
}

export interface GenerateCall {
  readonly rpcId: number;
  readonly result: Promise<GenerateResult>;
}

interface Pending {
  readonly method: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
  readonly requestId: string | undefined;
}

const PENDING_MAX_DEFAULT = 4096;
const LINE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

export class RuntimeClient {
  private readonly pending = new Map<number, Pending>();
  /** generate request_id → its tokens callback. */
  private readonly streams = new Map<string, (t: TokensNotification) => void>();
  private nextId = 1;
  private buffer = '';
  private closedReason: string | undefined;
  private readonly pendingMax: number;
  private readonly lineBytesMax: number;

  constructor(
    private readonly input: Writable,
    output: Readable,
    private readonly opts: RuntimeClientOptions = {},
  ) {
    this.pendingMax = opts.pendingMax ?? PENDING_MAX_DEFAULT;
    this.lineBytesMax = opts.lineBytesMax ?? LINE_BYTES_MAX_DEFAULT;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.onData(chunk));
    output.on('end', () => this.close('runtime closed its stdout'));
    output.on('error', (err) => this.close(`runtime stdout failed: ${err.message}`));
    input.on('error', (err) => this.close(`runtime stdin failed: ${err.message}`));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** One call; resolves with the result, rejects with a RuntimeRpcError/GoneError/TimeoutError. */
  call<M extends keyof RuntimeMethods>(method: M, params: RuntimeMethods[M]['params'], opts: CallOptions = {}): Promise<RuntimeMethods[M]['result']> {
    return this.send(method, params, undefined, opts) as Promise<RuntimeMethods[M]['result']>;
  }

  /** Starts a streaming generate: `onTokens` gets each notification, `result` the final answer. */
  generate(params: GenerateParams, onTokens: (t: TokensNotification) => void, opts: CallOptions = {}): GenerateCall {
    const rpcId = this.nextId;
    if (this.streams.has(params.request_id)) {
      return { rpcId, result: Promise.reject(new RuntimeRpcError(RPC.duplicateRequestId, `request_id ${params.request_id} is already streaming on this runtime`, { reason: 'duplicate_request_id' }, 'generate')) };
    }
    const result = this.send('generate', { ...params, stream: true }, params.request_id, opts) as Promise<GenerateResult>;
    if (this.pending.has(rpcId)) this.streams.set(params.request_id, onTokens);
    return { rpcId, result };
  }

  /** A notification (no answer expected). */
  notify(method: string, params: object): void {
    this.write({ jsonrpc: '2.0', method, params });
  }

  /** Fails every pending call with RuntimeGoneError; later calls fail at once. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const calls = [...this.pending.values()];
    this.pending.clear();
    this.streams.clear();
    for (const p of calls) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(new RuntimeGoneError(`${p.method}: ${reason}`));
    }
  }

  // ───────────────────────────── internals ─────────────────────────────

  private send(method: string, params: object, requestId: string | undefined, opts: CallOptions): Promise<unknown> {
    if (this.closedReason !== undefined) return Promise.reject(new RuntimeGoneError(`${method}: ${this.closedReason}`));
    if (this.pending.size >= this.pendingMax) return Promise.reject(new RuntimeRpcError(RPC.tooManySequences, `${this.pending.size} calls pending on this runtime (pendingMax ${this.pendingMax})`, { reason: 'too_many_pending' }, method));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 0;
      const timer = timeoutMs > 0 ? setTimeout(() => this.expire(id), timeoutMs) : undefined;
      this.pending.set(id, { method, resolve, reject, timer, requestId });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  private expire(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.settle(id, p);
    p.reject(new RuntimeTimeoutError(`${p.method}: no answer from the runtime in time`));
  }

  private write(msg: object): void {
    if (this.closedReason !== undefined) return;
    try {
      this.input.write(`${JSON.stringify(msg)}\n`);
    } catch (err) {
      this.close(`write failed: ${(err as Error).message}`);
    }
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim().length > 0) this.onLine(line);
      nl = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > this.lineBytesMax) {
      this.protocolError(`a line longer than ${this.lineBytesMax} bytes`);
      this.buffer = '';
      this.close('protocol violation: line too long');
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.protocolError(`not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.protocolError(`not an object: ${line.slice(0, 200)}`);
      return;
    }
    const m = msg as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    if (m.method === 'tokens') {
      const p = m.params as TokensNotification | undefined;
      if (p !== undefined && typeof p.request_id === 'string') this.streams.get(p.request_id)?.(p);
      return;
    }
    if (typeof m.id !== 'number') {
      // id null: the runtime could not parse one of our lines (our bug) — nothing to route it to.
      this.protocolError(`unroutable message: ${line.slice(0, 200)}`);
      return;
    }
    const p = this.pending.get(m.id);
    if (p === undefined) return; // timed out earlier
    this.settle(m.id, p);
    if (m.error !== undefined) {
      const e = m.error as { code?: unknown; message?: unknown; data?: unknown };
      const data = typeof e.data === 'object' && e.data !== null ? (e.data as Record<string, unknown>) : {};
      p.reject(new RuntimeRpcError(typeof e.code === 'number' ? e.code : RPC.internalError, typeof e.message === 'string' ? e.message : 'runtime error', data, p.method));
    } else {
      p.resolve(m.result);
    }
  }

  private settle(id: number, p: Pending): void {
    this.pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.requestId !== undefined) this.streams.delete(p.requestId);
  }

  private protocolError(message: string): void {
    this.opts.onProtocolError?.(message);
  }
}
