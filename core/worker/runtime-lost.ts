// A runtime lost under a running request (issue 13): the process died, or cancelled the request
// because it is shutting down. Before the request's first token nothing reached the client, so the
// worker re-runs it (on the next alive runtime of its model, or the same one once restarted): a crash
// costs latency, not an error. After a token it cannot (the client has part of an answer) and the
// request ends with the loss's error. Re-runs are bounded per request (crashRetriesMax) so a request
// that kills every runtime it touches does not loop. The live worker node and the simulator's worker
// both decide here.

/** The event: what the worker knows of the request when its runtime is lost. */
export interface RuntimeLost {
  /** Tokens already sent to the client (0: none). */
  readonly tokensSent: number;
  /** Re-runs so far (0 on the first run). */
  readonly attempt: number;
  /** The worker itself is stopping: nothing is re-run. */
  readonly stopping: boolean;
}

export type RuntimeLostDecision =
  | { readonly kind: 'rerun'; readonly attempt: number }
  | { readonly kind: 'fail' };

export function onRuntimeLost(ev: RuntimeLost, crashRetriesMax: number): RuntimeLostDecision {
  if (!(crashRetriesMax >= 0)) throw new Error(`onRuntimeLost: crashRetriesMax must be >= 0, got ${crashRetriesMax}`);
  if (ev.tokensSent === 0 && ev.attempt < crashRetriesMax && !ev.stopping) return { kind: 'rerun', attempt: ev.attempt + 1 };
  return { kind: 'fail' };
}
