// Adaptive batching: the batch size follows the queue and a latency budget.
//   perRequestMs   ← EWMA (α = 0.2) of observed service time per request, per model
//   budgetSize     = floor(latencyBudgetMs / perRequestMs)           (what the budget allows)
//   batchSize      = clamp(budgetSize, minBatchSize, maxBatchSize)
//   windowMs       = windowMsMax × (1 − depth / batchSize), ≥ 0      (a deeper queue waits less)
// Guard rails: the size stays within [minBatchSize, maxBatchSize] and the window within
// [0, windowMsMax] whatever the observations. Per-model overrides replace the budget and the maximum.
import { WindowBatcher, type BatchLimits } from './batcher.js';

export interface AdaptiveParams {
  readonly minBatchSize: number;
  readonly maxBatchSize: number;
  readonly latencyBudgetMs: number;
  readonly windowMsMax: number;
  readonly perModel: Readonly<Record<string, { readonly maxBatchSize?: number; readonly latencyBudgetMs?: number }>>;
}

const ALPHA = 0.2;

export class AdaptiveBatcher extends WindowBatcher {
  readonly name = 'adaptive';
  private readonly perRequestMs = new Map<string, number>();
  constructor(private readonly p: AdaptiveParams) {
    super();
  }

  observeServiceMs(model: string, perRequestMs: number): void {
    if (!(perRequestMs >= 0) || !Number.isFinite(perRequestMs)) return;
    const old = this.perRequestMs.get(model);
    this.perRequestMs.set(model, old === undefined ? perRequestMs : ALPHA * perRequestMs + (1 - ALPHA) * old);
  }

  protected limitsFor(model: string, depth: number): BatchLimits {
    const o = this.p.perModel[model];
    const sizeMax = Math.max(this.p.minBatchSize, o?.maxBatchSize ?? this.p.maxBatchSize);
    const budgetMs = o?.latencyBudgetMs ?? this.p.latencyBudgetMs;
    const per = this.perRequestMs.get(model);
    const budgetSize = per === undefined || per <= 0 ? sizeMax : Math.floor(budgetMs / per);
    const size = clamp(budgetSize, this.p.minBatchSize, sizeMax);
    const windowMs = clamp(this.p.windowMsMax * (1 - depth / size), 0, this.p.windowMsMax);
    return { maxBatchSize: size, windowMs };
  }

  currentLimits(model: string, depth: number): BatchLimits {
    return this.limitsFor(model, depth);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
