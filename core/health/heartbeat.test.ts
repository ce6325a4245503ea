// Heartbeat tracking: 3 missed intervals → unhealthy; healthy again as soon as it reports.
import { describe, expect, it } from 'vitest';
import { HeartbeatTracker } from './heartbeat.js';

const P = { intervalMs: 5000, missesMax: 3 };

describe('HeartbeatTracker', () => {
  it('is healthy from registration until missesMax intervals pass without a report', () => {
    const h = new HeartbeatTracker(P, 1000);
    expect(h.healthy(1000)).toBe(true);
    expect(h.healthy(15_999)).toBe(true);
    expect(h.deadlineMs()).toBe(16_000);
    expect(h.healthy(16_000)).toBe(false);
  });

  it('each report pushes the deadline out', () => {
    const h = new HeartbeatTracker(P, 0);
    h.onHeartbeat(true, 5000);
    h.onHeartbeat(true, 10_000);
    expect(h.deadlineMs()).toBe(25_000);
    expect(h.healthy(24_999)).toBe(true);
    expect(h.healthy(25_000)).toBe(false);
  });

  it('recovers as soon as the worker reports again', () => {
    const h = new HeartbeatTracker(P, 0);
    expect(h.healthy(30_000)).toBe(false);
    h.onHeartbeat(true, 30_001);
    expect(h.healthy(30_001)).toBe(true);
  });

  it('a worker that reports itself unhealthy is unhealthy until it reports healthy', () => {
    const h = new HeartbeatTracker(P, 0);
    h.onHeartbeat(false, 100);
    expect(h.healthy(100)).toBe(false);
    expect(h.healthy(5000)).toBe(false);
    h.onHeartbeat(true, 5000);
    expect(h.healthy(5000)).toBe(true);
  });

  it('follows missesMax and intervalMs', () => {
    const h = new HeartbeatTracker({ intervalMs: 1000, missesMax: 1 }, 0);
    expect(h.healthy(999)).toBe(true);
    expect(h.healthy(1000)).toBe(false);
  });
});
