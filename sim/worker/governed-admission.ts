// core's MemoryGovernor behind the worker model's MemoryAdmission interface, so the simulator admits,
// keeps idle session KV and evicts at the watermark with the same code a live worker node uses.
// A sequence is admitted while the running sequences' reservations plus its own fit in the KV
// capacity (idle session caches are evicted, LRU, to make room); a finished sequence's context stays
// as its session's idle cache until evicted.
import type { BatchLayout } from '../../core/memory/batch-layout.js';
import { MemoryGovernor } from '../../core/memory/governor.js';
import type { MemoryAdmission } from './memory.js';

export class GovernedAdmission implements MemoryAdmission {
  readonly governor: MemoryGovernor;

  constructor(
    readonly capacityBytes: number,
    private readonly kvBytesPerToken: number,
    watermarkFraction: number,
    idleSessionsMax: number,
    batchLayout: BatchLayout = 'packed',
  ) {
    this.governor = new MemoryGovernor({ kvCapacityBytes: capacityBytes, watermarkFraction, idleSessionsMax, modelsMax: 2, idleUnloadMs: Number.POSITIVE_INFINITY, batchLayout }, kvBytesPerToken);
  }

  get usedBytes(): number {
    return this.governor.usedBytes();
  }

  canAdmit(kvBytes: number): boolean {
    return this.governor.stats().activeBytes + this.governor.growthBytes(kvBytes / this.kvBytesPerToken) <= this.capacityBytes;
  }

  reserve(kvBytes: number, nowMs: number, requestId: string, sessionId?: string): void {
    const a = this.governor.admit(requestId, sessionId, kvBytes / this.kvBytesPerToken, nowMs);
    if (!a.ok) throw new Error(`GovernedAdmission: ${requestId} refused after canAdmit agreed (${a.neededBytes} B needed, ${a.freeBytes} B free)`);
  }

  release(_kvBytes: number, _nowMs: number, requestId: string, keptContextTokens?: number): void {
    if (keptContextTokens === undefined) this.governor.abort(requestId);
    else this.governor.release(requestId, keptContextTokens);
  }
}

/** What the direct engine does: admits everything its batch allows, and records the peak demand. */
export class UngovernedAdmission implements MemoryAdmission {
  private used = 0;
  peakBytes = 0;
  constructor(readonly capacityBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  canAdmit(): boolean {
    return true;
  }

  reserve(kvBytes: number): void {
    this.used += kvBytes;
    if (this.used > this.peakBytes) this.peakBytes = this.used;
  }

  release(kvBytes: number): void {
    this.used -= kvBytes;
  }
}
