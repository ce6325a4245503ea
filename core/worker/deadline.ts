// A request's deadline on a worker (issue 13): a wall-clock instant (Unix ms; 0 = none) the gateway
// sets, past which the worker ends the request with `deadline_exceeded` rather than run it. Pure: the
// driver passes the wall clock in and arms its own timer for deadlineDelayMs.

/** No deadline (proto3's unset value). */
export const NO_DEADLINE = 0;

/** The deadline has passed (a request arriving so is refused at once). */
export function deadlinePassed(deadlineUnixMs: number, wallMs: number): boolean {
  return deadlineUnixMs > NO_DEADLINE && deadlineUnixMs <= wallMs;
}

/** Milliseconds until the deadline (≥ 0), or undefined for none. */
export function deadlineDelayMs(deadlineUnixMs: number, wallMs: number): number | undefined {
  return deadlineUnixMs > NO_DEADLINE ? Math.max(0, deadlineUnixMs - wallMs) : undefined;
}

/**
 * A bounded wait (for KV, for a model to load) cut short by the deadline:
 * waitMs' = min(waitMs, deadline − now), and whether the deadline is what ends it (the request then
 * ends with `deadline_exceeded`, not the wait's own error).
 */
export function waitWithinDeadline(waitMs: number, deadlineUnixMs: number, wallMs: number): { readonly waitMs: number; readonly byDeadline: boolean } {
  if (deadlineUnixMs > NO_DEADLINE && deadlineUnixMs - wallMs < waitMs) return { waitMs: Math.max(0, deadlineUnixMs - wallMs), byDeadline: true };
  return { waitMs, byDeadline: false };
}
