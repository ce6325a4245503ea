// Time, as an interface: the live processes use the system clock; core/ only ever receives `nowMs`
// (STYLE.md, "the simulator runs the production code"). Tests may pass a manual clock.

export interface Clock {
  /** Milliseconds on a monotonic timeline (for the core's timers, latencies). */
  nowMs(): number;
  /** Milliseconds since the unix epoch (for deadlines that cross process boundaries). */
  wallMs(): number;
}

/** The system clock: performance.now() is monotonic; Date.now() is wall time. */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
};
