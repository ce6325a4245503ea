// Retry throttling as in gRPC's retry design (proposal A6): a token count starts at tokensMax;
// every failed attempt takes 1, every success gives back tokenRatio (capped at tokensMax), and
// retries are allowed only while tokens > tokensMax / 2. When a worker fleet is failing, retries stop
// instead of multiplying the load on it.
export class RetryBudget {
  private tokens: number;
  constructor(
    readonly tokensMax: number,
    readonly tokenRatio: number,
  ) {
    this.tokens = tokensMax;
  }

  onSuccess(): void {
    this.tokens = Math.min(this.tokensMax, this.tokens + this.tokenRatio);
  }

  onFailure(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  canRetry(): boolean {
    return this.tokens > this.tokensMax / 2;
  }

  available(): number {
    return this.tokens;
  }
}
