// The no-progress watchdog's rule, per worker: a job's deadline counts from the later of its own
// progress (dispatch, tokens) and anything heard from its worker (events, statuses), so a request
// waiting behind others on a live, busy worker is not failed. The core cancels and retries (or fails)
// the overdue jobs and re-arms one timer per worker for the earliest remaining deadline.

export interface Progressing {
  readonly lastProgressMs: number;
}

/** The jobs past their deadline at `nowMs` (undefined: none), and the earliest deadline of the others (Infinity: none). */
export function overdue<J extends Progressing>(running: Iterable<J>, workerLastSeenMs: number, timeoutMs: number, nowMs: number): { timedOut: J[] | undefined; nextMs: number } {
  let nextMs = Number.POSITIVE_INFINITY;
  let timedOut: J[] | undefined;
  for (const t of running) {
    const deadline = Math.max(t.lastProgressMs, workerLastSeenMs) + timeoutMs;
    if (deadline <= nowMs) (timedOut ??= []).push(t);
    else nextMs = Math.min(nextMs, deadline);
  }
  return { timedOut, nextMs };
}
