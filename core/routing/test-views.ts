// Routing tests' worker views: one place that builds a WorkerView, with a distinct slot per id.
import type { WorkerView } from './policy.js';

const slots = new Map<string, number>();

/** A stable slot for the id (distinct ids get distinct slots, for every test of the process). */
export function slotOf(id: string): number {
  let s = slots.get(id);
  if (s === undefined) slots.set(id, (s = slots.size));
  return s;
}

export function testView(id: string, inFlight = 0, maxConcurrent = 4, kvUsedFraction = 0): WorkerView {
  return { id, inFlight, maxConcurrent, kvUsedFraction, slot: slotOf(id) };
}
