// The worker node's Error-event codes (proto `Error{code, message, client_fault, retry_here}`): core's worker
// catalogue (core/worker/errors.ts: whose fault each code is, its message) with the gRPC status the
// node answers a unary call with; and the mapping from the runtime's JSON-RPC errors onto it.
import * as grpc from '@grpc/grpc-js';
import { WORKER_ERROR_CATALOGUE, type WorkerErrorCode } from '../../core/index.js';
import { RPC, RuntimeGoneError, RuntimeRpcError, RuntimeTimeoutError } from './runtime-client.js';

export type { WorkerErrorCode };

const GRPC_STATUS: Readonly<Record<WorkerErrorCode, grpc.status>> = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  context_length_exceeded: grpc.status.INVALID_ARGUMENT,
  kv_exceeds_capacity: grpc.status.INVALID_ARGUMENT,
  duplicate_request: grpc.status.ALREADY_EXISTS,
  model_not_loaded: grpc.status.NOT_FOUND,
  draining: grpc.status.UNAVAILABLE,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  kv_capacity: grpc.status.RESOURCE_EXHAUSTED,
  queue_full: grpc.status.RESOURCE_EXHAUSTED,
  runtime_unavailable: grpc.status.UNAVAILABLE,
  runtime_lost: grpc.status.UNAVAILABLE,
  runtime_crashed: grpc.status.UNAVAILABLE,
  runtime_timeout: grpc.status.DEADLINE_EXCEEDED,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  cancelled: grpc.status.CANCELLED,
  generation_failed: grpc.status.INTERNAL,
  internal_error: grpc.status.INTERNAL,
  worker_crashed: grpc.status.UNAVAILABLE,
  worker_down: grpc.status.UNAVAILABLE,
};

/** Each code: whose fault (core's catalogue), the gRPC status, the default message. */
export const WORKER_ERRORS: Readonly<Record<WorkerErrorCode, { readonly clientFault: boolean; readonly grpc: grpc.status; readonly message: string }>> =
  Object.fromEntries((Object.keys(WORKER_ERROR_CATALOGUE) as WorkerErrorCode[]).map((code) => [code, { ...WORKER_ERROR_CATALOGUE[code], grpc: GRPC_STATUS[code] }])) as Record<WorkerErrorCode, { clientFault: boolean; grpc: grpc.status; message: string }>;

/** An expected failure of one request, as an Error event. */
export class WorkerError extends Error {
  override name = 'WorkerError';
  /** runtime_lost: another runtime of the model is alive on this worker (core/worker/runtime-lost.ts). */
  readonly retryHere: boolean;
  constructor(
    readonly code: WorkerErrorCode,
    message?: string,
    options?: { cause?: unknown; retryHere?: boolean },
  ) {
    super(message ?? WORKER_ERRORS[code].message, options);
    this.retryHere = options?.retryHere ?? false;
  }

  get clientFault(): boolean {
    return WORKER_ERRORS[this.code].clientFault;
  }

  toEvent(): { code: string; message: string; clientFault: boolean; retryHere: boolean } {
    return { code: this.code, message: this.message, clientFault: this.clientFault, retryHere: this.retryHere };
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
