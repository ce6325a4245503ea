// A runtime lost under a running request (issue 13): the process died, or cancelled the request
// because it is shutting down. The worker does not re-run the request itself: it reports the loss to
// the gateway, whose core decides (retry budget, attempts, the breaker of this worker) as for any
// other retryable failure, so a retry is visible and bounded in one place, in sim as in live.
//
// Before the request's first token nothing reached the client: the worker ends it with
// `runtime_lost` (retryable, the worker's fault), and says whether a retry may run here — another
// runtime of the request's model is alive on this worker and the worker is not stopping — in which
// case the gateway core prefers this worker for the retry (core/gateway/gateway-core.ts, `retryHere`).
// After a token the client has part of an answer: the request ends with the loss's own error
// (`runtime_crashed`, `cancelled`). The live worker node and the simulator's worker both decide here.

/** The event: what the worker knows of the request and of its model's other runtimes when one is lost. */
export interface RuntimeLost {
  /** Tokens already sent to the client (0: none). */
  readonly tokensSent: number;
  /** Runtimes of the request's model alive on this worker, the lost one not counted. */
  readonly otherRuntimesAlive: number;
  /** The worker itself is stopping: a retry must not come back here. */
  readonly stopping: boolean;
}

export type RuntimeLostDecision =
  /** End the request with `runtime_lost`; the gateway retries it, on this worker when retryHere. */
  | { readonly kind: 'report'; readonly code: 'runtime_lost'; readonly retryHere: boolean }
  /** End the request with the loss's own error (tokens were sent). */
  | { readonly kind: 'fail' };

export function onRuntimeLost(ev: RuntimeLost): RuntimeLostDecision {
  if (!(ev.tokensSent >= 0) || !(ev.otherRuntimesAlive >= 0)) throw new Error(`onRuntimeLost: tokensSent and otherRuntimesAlive must be >= 0 (got ${ev.tokensSent}, ${ev.otherRuntimesAlive})`);
  if (ev.tokensSent > 0) return { kind: 'fail' };
  return { kind: 'report', code: 'runtime_lost', retryHere: ev.otherRuntimesAlive > 0 && !ev.stopping };
}
