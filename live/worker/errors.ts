// The worker node's catalogue of Error-event codes (proto `Error{code, message, client_fault}`), and
// the mapping from the runtime's JSON-RPC errors onto it. `clientFault` says whose fault it was: a
// client fault means the request itself was bad, so retrying it on another worker cannot help (the
// gateway answers 4xx); anything else is the worker's or a capacity problem (the gateway may retry).
import * as grpc from '@grpc/grpc-js';
import { RPC, RuntimeGoneError, RuntimeRpcError, RuntimeTimeoutError } from './runtime-client.js';

export const WORKER_ERRORS = {
  invalid_request: { clientFault: true, grpc: grpc.status.INVALID_ARGUMENT, message: 'The request is invalid.' },
  context_length_exceeded: { clientFault: true, grpc: grpc.status.INVALID_ARGUMENT, message: 'Prompt plus max_tokens exceed the model context.' },
  duplicate_request: { clientFault: false, grpc: grpc.status.ALREADY_EXISTS, message: 'A request with this id is already running on this stream.' },
  model_not_loaded: { clientFault: false, grpc: grpc.status.NOT_FOUND, message: 'The model is not loaded on this worker.' },
  draining: { clientFault: false, grpc: grpc.status.UNAVAILABLE, message: 'The worker is draining and takes no new work.' },
  overloaded: { clientFault: false, grpc: grpc.status.RESOURCE_EXHAUSTED, message: 'The worker runs its maximum number of sequences.' },
  kv_capacity: { clientFault: false, grpc: grpc.status.RESOURCE_EXHAUSTED, message: 'Not enough KV-cache memory for this request.' },
  queue_full: { clientFault: false, grpc: grpc.status.RESOURCE_EXHAUSTED, message: 'Too many requests are waiting for a runtime.' },
  runtime_unavailable: { clientFault: false, grpc: grpc.status.UNAVAILABLE, message: 'No runtime of this model came up in time.' },
  runtime_crashed: { clientFault: false, grpc: grpc.status.UNAVAILABLE, message: 'The runtime died while running the request.' },
  runtime_timeout: { clientFault: false, grpc: grpc.status.DEADLINE_EXCEEDED, message: 'The runtime did not answer in time.' },
  deadline_exceeded: { clientFault: false, grpc: grpc.status.DEADLINE_EXCEEDED, message: 'The request passed its deadline.' },
  cancelled: { clientFault: false, grpc: grpc.status.CANCELLED, message: 'The runtime cancelled the request (shutting down).' },
  generation_failed: { clientFault: false, grpc: grpc.status.INTERNAL, message: 'The runtime failed while generating.' },
  internal_error: { clientFault: false, grpc: grpc.status.INTERNAL, message: 'An internal error in the worker or runtime.' },
} as const satisfies Record<string, { clientFault: boolean; grpc: grpc.status; message: string }>;

export type WorkerErrorCode = keyof typeof WORKER_ERRORS;

/** An expected failure of one request, as an Error event. */
export class WorkerError extends Error {
  override name = 'WorkerError';
  constructor(
    readonly code: WorkerErrorCode,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? WORKER_ERRORS[code].message, options);
  }

  get clientFault(): boolean {
    return WORKER_ERRORS[this.code].clientFault;
  }

  toEvent(): { code: string; message: string; clientFault: boolean } {
    return { code: this.code, message: this.message, clientFault: this.clientFault };
  }

  toGrpc(): Partial<grpc.StatusObject> {
    return { code: WORKER_ERRORS[this.code].grpc, details: `${this.code}: ${this.message}` };
  }
}

/** The runtime's JSON-RPC error codes → worker codes. */
const BY_RPC_CODE: ReadonlyMap<number, WorkerErrorCode> = new Map<number, WorkerErrorCode>([
  [RPC.invalidParams, 'invalid_request'],
  [RPC.contextLengthExceeded, 'context_length_exceeded'],
  [RPC.modelNotFound, 'model_not_loaded'],
  [RPC.tooManySequences, 'overloaded'],
  [RPC.kvCapacityExceeded, 'kv_capacity'],
  [RPC.duplicateRequestId, 'duplicate_request'],
  [RPC.shuttingDown, 'draining'],
  [RPC.generationFailed, 'generation_failed'],
  [RPC.modelLoadFailed, 'internal_error'],
  // Parse errors, invalid requests and unknown methods are our bug, not the client's.
  [RPC.parseError, 'internal_error'],
  [RPC.invalidRequest, 'internal_error'],
  [RPC.methodNotFound, 'internal_error'],
  [RPC.internalError, 'internal_error'],
]);

/** Any failure of a runtime call → a WorkerError. */
export function toWorkerError(err: unknown): WorkerError {
  if (err instanceof WorkerError) return err;
  if (err instanceof RuntimeRpcError) return new WorkerError(BY_RPC_CODE.get(err.code) ?? 'internal_error', err.message, { cause: err });
  if (err instanceof RuntimeGoneError) return new WorkerError('runtime_crashed', err.message, { cause: err });
  if (err instanceof RuntimeTimeoutError) return new WorkerError('runtime_timeout', err.message, { cause: err });
  return new WorkerError('internal_error', err instanceof Error ? err.message : String(err), { cause: err });
}
