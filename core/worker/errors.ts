// The worker's catalogue of error codes: every code a worker (the live node, or the simulator's
// worker) ends a request with, whose fault it is, and a message. One list for both drivers, so they
// agree on whose fault a failure is; live adds its gRPC status per code (live/worker/errors.ts).
//
// `clientFault`: the request itself was bad, so another worker cannot do better; the gateway core does
// not retry it and answers with the code's 4xx (core/errors.ts). Anything else is the worker's fault or
// a capacity problem: the core may retry it elsewhere, and answers 502 if it cannot.

export interface WorkerErrorSpec {
  readonly clientFault: boolean;
  readonly message: string;
  /** false: another attempt cannot succeed either (the request's time is up); the core fails it at once. Default true unless clientFault. */
  readonly retryable?: false;
}

export const WORKER_ERROR_CATALOGUE = {
  invalid_request: { clientFault: true, message: 'The request is invalid.' },
  context_length_exceeded: { clientFault: true, message: 'Prompt plus max_tokens exceed the model context.' },
  // A client fault in a fleet of equal workers (every one would refuse it); a fleet of unequal Macs
  // would want it retried on a larger one, which the core does not do yet.
  kv_exceeds_capacity: { clientFault: true, message: 'Prompt plus max_tokens need more KV-cache memory than the worker has, even idle.' },
  duplicate_request: { clientFault: false, message: 'A request with this id is already running on this stream.' },
  model_not_loaded: { clientFault: false, message: 'The model is not loaded on this worker.' },
  draining: { clientFault: false, message: 'The worker is draining and takes no new work.' },
  overloaded: { clientFault: false, message: 'The worker runs its maximum number of sequences.' },
  kv_capacity: { clientFault: false, message: 'Not enough free KV-cache memory for this request now.' },
  queue_full: { clientFault: false, message: 'Too many requests are waiting on this worker.' },
  runtime_unavailable: { clientFault: false, message: 'No runtime of this model came up in time.' },
  // Before the first token (core/worker/runtime-lost.ts): nothing was sent, the gateway core retries it.
  runtime_lost: { clientFault: false, message: 'The runtime died (or shut down) before the request\'s first token; nothing was sent, so it may be retried.' },
  runtime_crashed: { clientFault: false, message: 'The runtime died while running the request.' },
  runtime_timeout: { clientFault: false, message: 'The runtime did not answer in time.' },
  // Not the worker's fault (it kept the deadline it was given) nor retryable: every worker would refuse it.
  deadline_exceeded: { clientFault: false, retryable: false, message: 'The request passed its deadline.' },
  cancelled: { clientFault: false, message: 'The runtime cancelled the request (shutting down).' },
  generation_failed: { clientFault: false, message: 'The runtime failed while generating.' },
  internal_error: { clientFault: false, message: 'An internal error in the worker or runtime.' },
  // The simulator's whole-worker faults (a live node that dies is a lost link, not an Error event).
  worker_crashed: { clientFault: false, message: 'The worker crashed while running the request.' },
  worker_down: { clientFault: false, message: 'The worker is down (restarting).' },
} as const satisfies Record<string, WorkerErrorSpec>;

export type WorkerErrorCode = keyof typeof WORKER_ERROR_CATALOGUE;

/** A worker's failure another attempt could fix: neither the client's fault nor a passed deadline (an unknown code is retryable). */
export function isRetryable(code: string): boolean {
  if (!Object.hasOwn(WORKER_ERROR_CATALOGUE, code)) return true;
  const spec: WorkerErrorSpec = WORKER_ERROR_CATALOGUE[code as WorkerErrorCode];
  return !spec.clientFault && spec.retryable !== false;
}

/** Whose fault a worker's code is; a code not in the catalogue (a newer worker's) is not the client's. */
export function isClientFault(code: string): boolean {
  return Object.hasOwn(WORKER_ERROR_CATALOGUE, code) && WORKER_ERROR_CATALOGUE[code as WorkerErrorCode].clientFault;
}
