// KV-memory admission for the worker model. The worker asks before admitting a sequence and reserves
// its worst-case KV ((prompt + max_tokens) × kvBytesPerToken, core/worker/kv-reservation.ts, as the
// live worker node reserves) until the sequence leaves the batch.
// The default here is a plain capacity check; governed-admission.ts puts core's MemoryGovernor
// (watermark, idle-session eviction) behind the same interface.

export interface MemoryAdmission {
  /** May a sequence needing `kvBytes` be admitted now? */
  canAdmit(kvBytes: number, nowMs: number): boolean;
  reserve(kvBytes: number, nowMs: number, requestId: string, sessionId?: string): void;
  /** `keptContextTokens`: set when the sequence finished normally and its session may keep its KV. */
  release(kvBytes: number, nowMs: number, requestId: string, keptContextTokens?: number): void;
  readonly usedBytes: number;
  readonly capacityBytes: number;
}

/** Admits while used + kvBytes <= capacity × watermark. */
export class CapacityAdmission implements MemoryAdmission {
  private used = 0;

  constructor(readonly capacityBytes: number, readonly watermark = 1) {
    if (!(capacityBytes > 0) || !Number.isFinite(capacityBytes)) throw new Error(`CapacityAdmission: capacityBytes must be finite and > 0, got ${capacityBytes}`);
    if (!(watermark > 0 && watermark <= 1)) throw new Error(`CapacityAdmission: watermark must be in (0, 1], got ${watermark}`);
  }

  get usedBytes(): number {
    return this.used;
  }

  canAdmit(kvBytes: number, _nowMs: number): boolean {
    return this.used + kvBytes <= this.capacityBytes * this.watermark;
  }

  reserve(kvBytes: number, _nowMs: number): void {
    this.used += kvBytes;
  }

  release(kvBytes: number, _nowMs: number): void {
    this.used -= kvBytes;
    if (this.used < -1e-6) throw new Error(`CapacityAdmission: released more than reserved (used ${this.used})`);
    if (this.used < 0) this.used = 0;
  }
}
