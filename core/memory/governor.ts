// KV-memory governance for one worker (the architecture document's "memory governance"):
// - a running sequence reserves KV for prompt + max new tokens at admission;
// - when a sequence of a session ends, its KV stays as an idle session cache (for the next turn's
//   prefix reuse) in an LRU bounded by entries and bytes;
// - above the watermark (default 80 % of capacity) idle sessions are evicted, least recent first;
// - a sequence is refused when, even after evicting every idle session, it would not fit:
//   refusing is how out-of-memory is avoided;
// - at most `modelsMax` models are loaded; idle models unload after `idleUnloadMs`;
// - what the running sequences cost depends on the engine's batch layout (batch-layout.ts): packed
//   (the sum) or padded (mlx-lm's batch, every sequence at the longest one's length).
import { invariantFailed } from '../util/assert.js';
import { reservedBytes, type BatchLayout } from './batch-layout.js';
import { Lru } from '../caching/lru.js';

export interface GovernorParams {
  readonly kvCapacityBytes: number;
  readonly watermarkFraction: number;
  readonly idleSessionsMax: number;
  readonly modelsMax: number;
  readonly idleUnloadMs: number;
  /** How the engine lays its decode batch out (default packed). */
  readonly batchLayout?: BatchLayout;
}

export type Admission =
  | { readonly ok: true; readonly reusedTokens: number; readonly evictedSessions: readonly string[] }
  | { readonly ok: false; readonly reason: 'kv-memory'; readonly neededBytes: number; readonly freeBytes: number };

interface Active {
  readonly bytes: number;
  readonly sessionId: string | undefined;
  readonly model: string | undefined;
}

export class MemoryGovernor {
  private readonly active = new Map<string, Active>();
  private readonly idleSessions: Lru<string, { bytes: number; tokens: number }>;
  private activeBytes = 0;
  private idleBytes = 0;
  private evictions = 0;
  /** Highest KV use ever reached (active + idle), for "never out of memory" checks. */
  private peakBytes = 0;
  private refusals = 0;
  private readonly models = new Map<string, { lastUsedMs: number; activeSequences: number }>();

  private readonly layout: BatchLayout;

  constructor(
    private readonly p: GovernorParams,
    private readonly kvBytesPerToken: number,
  ) {
    this.layout = p.batchLayout ?? 'packed';
    this.idleSessions = new Lru(p.idleSessionsMax, (_k, v) => {
      this.idleBytes -= v.bytes;
      this.evictions++;
    });
  }

  /**
   * Reserves KV for a sequence of `tokens` total tokens (prompt + max new). When `model` is given and
   * loaded, the model counts as busy until the sequence ends (never unloaded while it runs).
   */
  admit(seqId: string, sessionId: string | undefined, tokens: number, nowMs: number, model?: string): Admission {
    if (this.active.has(seqId)) invariantFailed(`sequence ${seqId} admitted twice`);
    const own = tokens * this.kvBytesPerToken;
    // What admitting it adds: its own bytes (packed), or the padded batch's growth (padded).
    const needed = this.growthBytes(tokens, model);
    let reusedTokens = 0;
    const reused = sessionId === undefined ? undefined : this.idleSessions.peek(sessionId);
    if (reused !== undefined && sessionId !== undefined) {
      // The session's cached prefix becomes part of this sequence's reservation.
      this.idleSessions.delete(sessionId);
      this.idleBytes -= reused.bytes;
      reusedTokens = reused.tokens;
    }
    // Evicting every idle session frees at most idleBytes, so the sequence fits iff it fits beside the
    // running ones. Decide that first: a refused sequence must not flush other sessions' caches.
    if (this.activeBytes + needed > this.p.kvCapacityBytes) {
      if (reused !== undefined && sessionId !== undefined) this.keepIdle(sessionId, reused.tokens);
      this.refusals++;
      return { ok: false, reason: 'kv-memory', neededBytes: needed, freeBytes: this.freeBytes() };
    }
    const evicted: string[] = [];
    const limit = this.p.kvCapacityBytes * this.p.watermarkFraction;
    while (this.activeBytes + this.idleBytes + needed > limit && this.idleSessions.size > 0) {
      const e = this.idleSessions.evictOldest();
      if (e !== undefined) evicted.push(e[0]);
    }
    this.active.set(seqId, { bytes: own, sessionId, model });
    this.activeBytes = this.layout === 'packed' ? this.activeBytes + own : reservedBytes('padded', this.active.values());
    this.peakBytes = Math.max(this.peakBytes, this.activeBytes + this.idleBytes);
    const m = model === undefined ? undefined : this.models.get(model);
    if (m !== undefined) {
      m.activeSequences++;
      m.lastUsedMs = nowMs;
    }
    return { ok: true, reusedTokens, evictedSessions: evicted };
  }

  /** Ends a sequence; its session keeps `contextTokens` of KV as an idle cache entry. */
  release(seqId: string, contextTokens: number): readonly string[] {
    const a = this.active.get(seqId);
    if (a === undefined) return [];
    this.end(a, seqId);
    if (a.sessionId === undefined) return [];
    this.keepIdle(a.sessionId, contextTokens);
    const evicted: string[] = [];
    const limit = this.p.kvCapacityBytes * this.p.watermarkFraction;
    while (this.activeBytes + this.idleBytes > limit && this.idleSessions.size > 0) {
      const e = this.idleSessions.evictOldest();
      if (e !== undefined) evicted.push(e[0]);
    }
    return evicted;
  }

  /** Drops a sequence without keeping its KV (failure, cancellation). */
  abort(seqId: string): void {
    const a = this.active.get(seqId);
    if (a === undefined) return;
    this.end(a, seqId);
  }

  private end(a: Active, seqId: string): void {
    this.active.delete(seqId);
    this.activeBytes = this.layout === 'packed' ? this.activeBytes - a.bytes : reservedBytes('padded', this.active.values());
    const m = a.model === undefined ? undefined : this.models.get(a.model);
    if (m !== undefined && m.activeSequences > 0) m.activeSequences--;
  }

  /** Tokens of `sessionId`'s prefix held in the idle cache (0 if none). */
  cachedTokens(sessionId: string): number {
    return this.idleSessions.peek(sessionId)?.tokens ?? 0;
  }

  /** Loads (or touches) a model. Returns models to unload first, or undefined when at the limit with all busy. */
  useModel(model: string, nowMs: number): { readonly unload: readonly string[] } | undefined {
    const m = this.models.get(model);
    if (m !== undefined) {
      m.lastUsedMs = nowMs;
      return { unload: [] };
    }
    const unload: string[] = [];
    if (this.models.size >= this.p.modelsMax) {
      const victim = this.leastRecentIdleModel();
      if (victim === undefined) return undefined;
      this.models.delete(victim);
      unload.push(victim);
    }
    this.models.set(model, { lastUsedMs: nowMs, activeSequences: 0 });
    return { unload };
  }

  /** Models idle for at least idleUnloadMs; they are forgotten here and should be unloaded. */
  idleModels(nowMs: number): readonly string[] {
    const out: string[] = [];
    for (const [name, m] of this.models) {
      if (m.activeSequences === 0 && nowMs - m.lastUsedMs >= this.p.idleUnloadMs) out.push(name);
    }
    for (const name of out) this.models.delete(name);
    return out;
  }

  /**
   * Forgets a model that was unloaded by other means (an admin unload): it no longer counts toward
   * modelsMax. Its running sequences (if any) still end normally. Returns whether it was known.
   */
  forgetModel(model: string): boolean {
    return this.models.delete(model);
  }

  loadedModels(): readonly string[] {
    return [...this.models.keys()];
  }

  /** How much admitting a sequence of `tokens` would add to the running sequences' cost (layout-aware). */
  growthBytes(tokens: number, model?: string): number {
    const own = tokens * this.kvBytesPerToken;
    return this.layout === 'packed' ? own : reservedBytes('padded', [...this.active.values(), { model, bytes: own }]) - this.activeBytes;
  }

  /** What a sequence of `tokens` costs in an otherwise empty worker (padded: the merge copy counts). */
  aloneBytes(tokens: number): number {
    return reservedBytes(this.layout, [{ model: undefined, bytes: tokens * this.kvBytesPerToken }]);
  }

  usedBytes(): number {
    return this.activeBytes + this.idleBytes;
  }

  freeBytes(): number {
    return this.p.kvCapacityBytes - this.usedBytes();
  }

  stats() {
    return {
      activeSequences: this.active.size,
      activeBytes: this.activeBytes,
      idleSessions: this.idleSessions.size,
      idleBytes: this.idleBytes,
      capacityBytes: this.p.kvCapacityBytes,
      evictions: this.evictions,
      refusals: this.refusals,
      peakBytes: this.peakBytes,
    };
  }

  private keepIdle(sessionId: string, tokens: number): void {
    const bytes = tokens * this.kvBytesPerToken;
    const old = this.idleSessions.peek(sessionId);
    if (old !== undefined) {
      this.idleSessions.delete(sessionId);
      this.idleBytes -= old.bytes;
    }
    this.idleSessions.set(sessionId, { bytes, tokens });
    this.idleBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.activeBytes + this.idleBytes);
  }

  private leastRecentIdleModel(): string | undefined {
    let victim: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [name, m] of this.models) {
      if (m.activeSequences === 0 && m.lastUsedMs < oldest) {
        victim = name;
        oldest = m.lastUsedMs;
      }
    }
    return victim;
  }
}
