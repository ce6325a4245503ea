// The catalogue of reasons the gateway core ends a request other than by serving it: a stable code,
// the HTTP status the live gateway answers with, whose fault it is, and a message. Drivers map these
// to OpenAI error objects ({error: {message, type, code, param}}) without inventing their own.
export type Fault = 'client' | 'capacity' | 'worker' | 'gateway';

export interface ErrorSpec {
  readonly status: number;
  readonly fault: Fault;
  readonly message: string;
}

export const ERRORS = {
  model_not_found: { status: 404, fault: 'client', message: 'The model does not exist or is not served by any worker.' },
  rate_limited: { status: 429, fault: 'client', message: 'Rate limit exceeded for this API key.' },
  overloaded: { status: 503, fault: 'capacity', message: 'The gateway is tracking its maximum number of requests.' },
  queue_full: { status: 503, fault: 'capacity', message: 'All workers are busy and the wait queue is full.' },
  queue_timeout: { status: 503, fault: 'capacity', message: 'No worker became free before the queue timeout.' },
  no_healthy_worker: { status: 503, fault: 'capacity', message: 'No healthy worker serves this model right now.' },
  // A catalogued model no worker held was being loaded for the request, and the load failed (core/gateway/model-loads.ts).
  model_load_failed: { status: 503, fault: 'worker', message: 'Loading the model on a worker failed.' },
  worker_error: { status: 502, fault: 'worker', message: 'The worker failed the request.' },
  worker_timeout: { status: 504, fault: 'worker', message: 'The worker made no progress within the timeout.' },
  client_cancelled: { status: 499, fault: 'client', message: 'The client cancelled the request.' },
  // A worker ended the request at the deadline the gateway gave it (core/worker/deadline.ts): no retry.
  deadline_exceeded: { status: 504, fault: 'gateway', message: 'The request passed its deadline on the worker.' },
  // A worker's refusal that is the client's fault (core/worker/errors.ts), passed on with its code.
  invalid_request: { status: 400, fault: 'client', message: 'The worker refused the request as invalid.' },
  context_length_exceeded: { status: 400, fault: 'client', message: 'Prompt plus max_tokens exceed the model context.' },
  kv_exceeds_capacity: { status: 400, fault: 'client', message: 'Prompt plus max_tokens need more KV-cache memory than the worker has.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The code the core answers a worker's client-fault refusal with: its own when this catalogue has it as a client fault, else invalid_request. */
export function clientErrorCodeOf(workerCode: string): ErrorCode {
  return Object.hasOwn(ERRORS, workerCode) && ERRORS[workerCode as ErrorCode].fault === 'client' ? (workerCode as ErrorCode) : 'invalid_request';
}
