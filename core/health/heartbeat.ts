// Heartbeat tracking: a worker reports every `intervalMs`; after `missesMax` intervals without a
// report it is unhealthy; it is healthy again as soon as it reports. A worker that reports itself
// unhealthy is unhealthy regardless of timing.
export interface HeartbeatParams {
  readonly intervalMs: number;
  readonly missesMax: number;
}

export class HeartbeatTracker {
  private lastSeenMs: number;
  private reportedHealthy = true;
  constructor(
    private readonly p: HeartbeatParams,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
  }

  onHeartbeat(healthy: boolean, nowMs: number): void {
    this.lastSeenMs = nowMs;
    this.reportedHealthy = healthy;
  }

  healthy(nowMs: number): boolean {
    return this.reportedHealthy && nowMs - this.lastSeenMs < this.p.intervalMs * this.p.missesMax;
  }

  /** When this worker turns unhealthy unless it reports (the gateway core wakes then). */
  deadlineMs(): number {
    return this.lastSeenMs + this.p.intervalMs * this.p.missesMax;
  }
}
