// The worker's per-session prompt (prefix) cache: a bounded LRU of session id → the KV it holds for
// that session's last request (its prompt's block ids and prompt + generated token count).
// Lookup rule for a new prompt of the same session:
//   shared = length of the common prefix of the stored and new block-id lists
//   if the new prompt extends every complete block of the stored prompt (a next turn of the same
//   conversation), the whole stored context is reused: cached = stored prompt + generated tokens;
//   otherwise cached = shared × blockTokens.
//   cached is capped at promptTokens - 1 (at least one token is always prefilled to get logits).
// Cached KV is not charged against the KV memory admission (a simplification, stated in README).

interface Entry {
  blocks: readonly number[];
  promptTokens: number;
  contextTokens: number;
}

export class SessionPrefixCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;
  tokensSaved = 0;

  constructor(readonly maxSessions: number, readonly blockTokens: number) {
    if (!Number.isInteger(maxSessions) || maxSessions < 0) throw new Error(`SessionPrefixCache: maxSessions must be an integer >= 0, got ${maxSessions}`);
    if (!Number.isInteger(blockTokens) || blockTokens < 1) throw new Error(`SessionPrefixCache: blockTokens must be an integer >= 1, got ${blockTokens}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Tokens of `promptTokens` already in KV for this session; counts a hit or a miss. */
  lookup(sessionId: string | undefined, blocks: readonly number[], promptTokens: number): number {
    if (sessionId === undefined || this.maxSessions === 0) return 0;
    const e = this.entries.get(sessionId);
    if (!e) {
      this.misses++;
      return 0;
    }
    this.entries.delete(sessionId); // LRU touch
    this.entries.set(sessionId, e);
    const cached = this.cachedOf(e, blocks, promptTokens);
    if (cached <= 0) {
      this.misses++;
      return 0;
    }
    this.hits++;
    this.tokensSaved += cached;
    return cached;
  }

  /** What lookup would return, without touching the LRU order or the counters (for planning). */
  peek(sessionId: string | undefined, blocks: readonly number[], promptTokens: number): number {
    if (sessionId === undefined || this.maxSessions === 0) return 0;
    const e = this.entries.get(sessionId);
    return e ? Math.max(0, this.cachedOf(e, blocks, promptTokens)) : 0;
  }

  private cachedOf(e: Entry, blocks: readonly number[], promptTokens: number): number {
    const n = Math.min(e.blocks.length, blocks.length);
    let shared = 0;
    while (shared < n && e.blocks[shared] === blocks[shared]) shared++;
    const fullStored = Math.floor(e.promptTokens / this.blockTokens);
    const cached = (fullStored > 0 && shared >= fullStored) || (shared === e.blocks.length && shared > 0) ? e.contextTokens : shared * this.blockTokens;
    return Math.min(cached, promptTokens - 1);
  }

  store(sessionId: string | undefined, blocks: readonly number[], promptTokens: number, contextTokens: number): void {
    if (sessionId === undefined || this.maxSessions === 0) return;
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { blocks, promptTokens, contextTokens });
    if (this.entries.size > this.maxSessions) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
