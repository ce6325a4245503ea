// The calendar queue pops in the same (time, phase, seq) order as the binary heap, whatever the
// times: same bucket, full buckets (bursts at one instant), the far heap, and pushes behind the
// ring's lower bound (a loop stopped at untilMs before its next event).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventCalendar } from './calendar.js';
import { EventHeap, type EventView } from './heap.js';

const view = (): EventView => ({ timeMs: 0, phase: 0, seq: 0, kind: 0, target: 0, num: 0, payload: undefined });

// Gaps that land in the same bucket, the next ones, at the end of the ring, and past it (ms).
const GAPS = [0, 0, 0.01, 0.1, 0.25, 0.3, 1, 7.5, 15, 19.99, 63.9, 64, 64.1, 500, 1000];

describe('EventCalendar', () => {
  it('pops in the same order as EventHeap for any schedule (property)', () => {
    const step = fc.tuple(fc.integer({ min: 0, max: GAPS.length - 1 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 }), fc.boolean());
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 150 }), (plan) => {
      const run = (q: EventHeap | EventCalendar): string[] => {
        q.push(0, 0, 0, 0, 0, undefined);
        const v = view();
        const got: string[] = [];
        let k = 0;
        let id = 1;
        for (;;) {
          const [gap, phase, count, behind] = plan[k++ % plan.length]!;
          const t = q.peekTimeMs();
          if (t === Infinity) break;
          if (behind && k < 200 && v.timeMs < t) {
            // As after run(untilMs): the clock stopped between the last event and the next one.
            q.push((v.timeMs + t) / 2, phase, 0, id++, 0, undefined);
            continue;
          }
          q.popInto(v);
          got.push(`${t}:${v.timeMs}/${v.phase}/${v.seq}/${v.target}`);
          if (k < 200) for (let j = 0; j < count; j++) q.push(v.timeMs + GAPS[(gap + j) % GAPS.length]!, phase, 0, id++, 0, undefined);
        }
        got.push(`size ${q.size}`);
        return got;
      };
      expect(run(new EventCalendar(2))).toEqual(run(new EventHeap(2)));
    }), { numRuns: 60 });
  });

  it('keeps every field of an event, a burst at one instant beyond a bucket included', () => {
    const q = new EventCalendar(4);
    for (let i = 0; i < 40; i++) q.push(3, i % 2, i % 5, i, i * 1.5, `p${i}`);
    const v = view();
    const got: string[] = [];
    while (q.popInto(v)) got.push(`${v.timeMs} ${v.phase} ${v.kind} ${v.target} ${v.num} ${String(v.payload)}`);
    const expected = Array.from({ length: 40 }, (_, i) => i).sort((a, b) => (a % 2) - (b % 2) || a - b).map((i) => `3 ${i % 2} ${i % 5} ${i} ${i * 1.5} p${i}`);
    expect(got).toEqual(expected);
  });

  it('rejects bad times and phases and enforces its capacity bound', () => {
    const q = new EventCalendar(16, 32);
    expect(() => q.push(NaN, 0, 0, 0, 0, undefined)).toThrow(/timeMs/);
    expect(() => q.push(-1, 0, 0, 0, 0, undefined)).toThrow(/timeMs/);
    expect(() => q.push(1, 256, 0, 0, 0, undefined)).toThrow(/phase/);
    expect(() => q.push(1, 1.5, 0, 0, 0, undefined)).toThrow(/phase/);
    for (let i = 0; i < 32; i++) q.push(i, 0, 0, 0, 0, undefined);
    expect(() => q.push(1, 0, 0, 0, 0, undefined)).toThrow(/bound/);
  });
});
