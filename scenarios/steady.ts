// Steady-state throughput: output tok/s over the part of a run where the offered load is fully on —
// after the closed loop's ramp-up and before its duration ends — from the run's timeline (the same
// buckets in sim and live). A run's overall output tok/s also covers the drain after the duration,
// where a side that keeps up (a cluster) has fewer and fewer requests left while a saturated one
// (one worker with a queue) keeps its full batch: the overall ratio of the two understates the
// scale-out. Scenarios that name `extra.steadyOutputTokPerS` get it (sim-run.ts, live/live-run.ts).
// Also the largest and smallest worker's share of the tokens (tokenShareMax / tokenShareMin), and the
// requests lost before their first token (lostRetryable), computed alike in sim and live.
import type { RunSummary } from '../reports/result.js';

export const STEADY_KEY = 'steadyOutputTokPerS';

/** Mean output tok/s of the timeline buckets lying wholly in [fromMs, toMs); 0 when none does. */
export function steadyOutputTokPerS(timeline: RunSummary['timeline'], fromMs: number, toMs: number): number {
  if (timeline.length === 0) return 0;
  const bucketMs = timeline.length > 1 ? timeline[1]!.tMs - timeline[0]!.tMs : toMs - fromMs;
  const inside = timeline.filter((b) => b.tMs >= fromMs && b.tMs + bucketMs <= toMs);
  if (inside.length === 0) return 0;
  return Math.round((inside.reduce((s, b) => s + b.outputTokPerS, 0) / inside.length) * 1000) / 1000;
}

/** The window of a workload: after its ramp-up (closed loop), before its duration ends. */
export function steadyWindow(w: { readonly type: string; readonly durationMs: number; readonly rampUpMs?: number }): [number, number] {
  return [w.type === 'closed' ? (w.rampUpMs ?? 0) : 0, w.durationMs];
}

/** The largest and smallest share (0–1) of the tokens among workers; zeros when none produced any. */
export function tokenShares(perWorker: readonly number[]): { tokenShareMax: number; tokenShareMin: number } {
  const total = perWorker.reduce((a, b) => a + b, 0);
  if (total === 0 || perWorker.length === 0) return { tokenShareMax: 0, tokenShareMin: 0 };
  const r = (x: number) => Math.round((x / total) * 1000) / 1000;
  return { tokenShareMax: r(Math.max(...perWorker)), tokenShareMin: r(Math.min(...perWorker)) };
}
