import { describe, expect, it } from 'vitest';
import { joinExtraMs, QUIET_GAPS, streamStepMs } from './calibrate-server.js';

describe('calibrate:server, the client-side timings', () => {
  it('a stream step is the mean chunk gap after the first chunks, bursts included', () => {
    expect(streamStepMs([0, 50, 60, 70, 80, 90, 100, 112, 120, 130])).toBe(10);
    expect(streamStepMs([0, 50, 60, 70, 80, 90, 110, 110, 130, 130])).toBe(10); // flushed in pairs
    expect(streamStepMs([0, 5, 9])).toBeUndefined();
  });

  it("a join's extra time is the background stream's gaps while it joined, less as many quiet gaps", () => {
    // a background stream at 10 ms a step (flushed in pairs: the mean gap is the step); a join sent just
    // after the last quiet chunk and answered 35 ms later stretches two steps to 40 ms
    const quiet = Array.from({ length: QUIET_GAPS + 1 }, (_, i) => 20 * Math.floor(i / 2) + (i % 2 === 0 ? 0 : 20));
    const t = quiet[quiet.length - 1]!;
    const stamps = [...quiet, t + 40, t + 80, t + 90, t + 100];
    const x = joinExtraMs(stamps, t + 1, t + 35)!;
    expect(x.quietStepMs).toBeCloseTo(10, 9);
    expect(x.steps).toBe(2); // t→t+40 and t+40→t+80; the gap from t+80 starts after the answer + a quiet step
    expect(x.extraMs).toBeCloseTo(60, 9);
    expect(joinExtraMs(stamps.slice(0, 5), 21, 30)).toBeUndefined(); // no quiet history before it
  });
});
