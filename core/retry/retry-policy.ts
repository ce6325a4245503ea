// The retry decision: may this failed attempt be tried again, and when?
// Never when tokens already reached the client (the stream cannot be replayed without duplicating
// output), never past attemptsMax, never when the budget is exhausted.
import type { RetryConfig } from '../config/types.js';
import type { Rng } from '../types.js';
import { fullJitterDelayMs } from './backoff.js';
import { RetryBudget } from './retry-budget.js';

/** The retry policy's parameters are its config section (core/config/types.ts). */
export type RetryParams = RetryConfig;

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: 'tokens-sent' | 'attempts-exhausted' | 'budget-exhausted' };

export class RetryPolicy {
  readonly budget: RetryBudget;
  constructor(private readonly p: RetryParams) {
    this.budget = new RetryBudget(p.budgetTokensMax, p.budgetTokenRatio);
  }

  /** `attempt` is the number of attempts made so far (1 after the first failure). */
  decide(attempt: number, tokensSentToClient: number, rng: Rng): RetryDecision {
    this.budget.onFailure();
    if (tokensSentToClient > 0) return { retry: false, reason: 'tokens-sent' };
    if (attempt >= this.p.attemptsMax) return { retry: false, reason: 'attempts-exhausted' };
    if (!this.budget.canRetry()) return { retry: false, reason: 'budget-exhausted' };
    return { retry: true, delayMs: fullJitterDelayMs(attempt, this.p.baseDelayMs, this.p.capDelayMs, rng) };
  }

  onSuccess(): void {
    this.budget.onSuccess();
  }
}
