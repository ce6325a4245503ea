// KV-memory governance for one worker: admission by memory, idle-session LRU eviction at the
// watermark, refusal when a sequence cannot fit, prefix reuse, model slots and idle unload.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryGovernor, type GovernorParams } from './governor.js';

// 1 byte per token keeps the arithmetic readable: capacity 1000, watermark 800.
const P: GovernorParams = { kvCapacityBytes: 1000, watermarkFraction: 0.8, idleSessionsMax: 100, modelsMax: 2, idleUnloadMs: 1000 };
const gov = (over: Partial<GovernorParams> = {}, bytesPerToken = 1): MemoryGovernor => new MemoryGovernor({ ...P, ...over }, bytesPerToken);

describe('MemoryGovernor: admission', () => {
  it('reserves tokens × kvBytesPerToken and refuses what does not fit', () => {
    const g = gov();
    expect(g.admit('a', undefined, 500, 0)).toEqual({ ok: true, reusedTokens: 0, evictedSessions: [] });
    expect(g.admit('b', undefined, 400, 0).ok).toBe(true);
    expect(g.usedBytes()).toBe(900);
    expect(g.admit('c', undefined, 200, 0)).toEqual({ ok: false, reason: 'kv-memory', neededBytes: 200, freeBytes: 100 });
    expect(g.stats()).toMatchObject({ activeSequences: 2, activeBytes: 900, refusals: 1 });
    g.release('a', 0);
    expect(g.admit('c', undefined, 200, 0).ok).toBe(true);
  });

  it('scales by kvBytesPerToken (Llama-3.1-8B fp16: 128 KiB per token)', () => {
    const g = new MemoryGovernor({ ...P, kvCapacityBytes: 8 * 2 ** 30 }, 131_072);
    expect(g.admit('a', undefined, 32_768, 0).ok).toBe(true); // 4 GiB
    expect(g.usedBytes()).toBe(4 * 2 ** 30);
    expect(g.admit('b', undefined, 32_769, 0).ok).toBe(false); // just over the remaining 4 GiB
  });

  it('release and abort free the reservation; unknown ids are ignored', () => {
    const g = gov();
    g.admit('a', undefined, 300, 0);
    g.admit('b', undefined, 300, 0);
    g.release('a', 100);
    g.abort('b');
    expect(g.usedBytes()).toBe(0); // no session: nothing kept idle
    expect(g.release('zzz', 5)).toEqual([]);
    g.abort('zzz');
    expect(g.usedBytes()).toBe(0);
  });

  it('admitting the same sequence twice is a bug (asserted)', () => {
    const g = gov();
    g.admit('a', undefined, 1, 0);
    expect(() => g.admit('a', undefined, 1, 0)).toThrow(/twice/);
  });
});

describe('MemoryGovernor: idle sessions', () => {
  it('keeps a finished session’s context as an idle cache entry', () => {
    const g = gov();
    g.admit('a', 's1', 300, 0);
    expect(g.release('a', 250)).toEqual([]);
    expect(g.cachedTokens('s1')).toBe(250);
    expect(g.stats()).toMatchObject({ activeBytes: 0, idleBytes: 250, idleSessions: 1 });
  });

  it('evicts idle sessions least recent first once usage would pass the 80 % watermark', () => {
    const g = gov();
    for (const s of ['s1', 's2', 's3']) {
      g.admit(s, s, 250, 0);
      g.release(s, 250);
    }
    expect(g.usedBytes()).toBe(750);
    // 750 + 100 = 850 > 800: evict s1 (oldest) → 500 + 100.
    const a = g.admit('x', undefined, 100, 0);
    expect(a).toEqual({ ok: true, reusedTokens: 0, evictedSessions: ['s1'] });
    expect(g.cachedTokens('s1')).toBe(0);
    expect(g.cachedTokens('s2')).toBe(250);
    expect(g.stats().evictions).toBe(1);
  });

  it('a session that comes back and ends again becomes the most recent idle entry', () => {
    const g = gov();
    for (const s of ['s1', 's2', 's3']) {
      g.admit(s, s, 200, 0);
      g.release(s, 200);
    }
    // s1 comes back for a second turn and is released again: now s2 is the oldest.
    g.admit('t2', 's1', 250, 0);
    g.release('t2', 250);
    const a = g.admit('big', undefined, 300, 0); // 650 + 300 > 800
    expect(a.ok && a.evictedSessions).toEqual(['s2']);
  });

  it('release evicts down to the watermark too', () => {
    const g = gov();
    g.admit('a', 's1', 400, 0);
    g.release('a', 400);
    g.admit('b', 's2', 400, 0); // 800: at the watermark, not above
    expect(g.release('b', 450)).toEqual(['s1']); // 400 + 450 > 800
    expect(g.usedBytes()).toBe(450);
  });

  it('refuses when even after evicting every idle session the sequence would not fit', () => {
    const g = gov();
    g.admit('run', undefined, 900, 0);
    const r = g.admit('more', undefined, 200, 0);
    expect(r).toMatchObject({ ok: false, reason: 'kv-memory', neededBytes: 200 });
    expect(g.usedBytes()).toBe(900);
  });

  // Regression: a sequence that could never fit first evicted every idle session, then was refused,
  // and the evictions were reported to nobody.
  it('a refused sequence leaves the idle sessions alone', () => {
    const g = gov();
    for (const s of ['s1', 's2', 's3']) {
      g.admit(s, s, 150, 0);
      g.release(s, 150);
    }
    expect(g.admit('run', undefined, 300, 0).ok).toBe(true); // 750: below the watermark
    expect(g.admit('huge', undefined, 800, 0)).toEqual({ ok: false, reason: 'kv-memory', neededBytes: 800, freeBytes: 250 });
    expect(g.stats()).toMatchObject({ idleSessions: 3, idleBytes: 450, evictions: 0, refusals: 1 });
    expect(g.cachedTokens('s1')).toBe(150);
    // One that fits beside the running sequence still evicts what the watermark requires.
    const ok = g.admit('fits', undefined, 700, 0);
    expect(ok).toEqual({ ok: true, reusedTokens: 0, evictedSessions: ['s1', 's2', 's3'] });
  });

  it('admits above the watermark (up to capacity) once no idle session is left to evict', () => {
    const g = gov();
    expect(g.admit('a', undefined, 950, 0).ok).toBe(true);
    expect(g.usedBytes()).toBe(950);
  });

  it('reuses a session’s cached prefix', () => {
    const g = gov();
    g.admit('turn1', 'chat', 300, 0);
    g.release('turn1', 280);
    const a = g.admit('turn2', 'chat', 400, 10);
    expect(a).toEqual({ ok: true, reusedTokens: 280, evictedSessions: [] });
    // The cached prefix is now part of the running sequence, not counted twice.
    expect(g.usedBytes()).toBe(400);
    expect(g.cachedTokens('chat')).toBe(0);
    g.release('turn2', 380);
    expect(g.cachedTokens('chat')).toBe(380);
  });

  it('a refused turn keeps its session cache', () => {
    const g = gov();
    g.admit('turn1', 'chat', 300, 0);
    g.release('turn1', 300);
    g.admit('hog', undefined, 500, 0);
    const r = g.admit('turn2', 'chat', 600, 0);
    expect(r.ok).toBe(false);
    expect(g.cachedTokens('chat')).toBe(300);
  });

  it('holds at most idleSessionsMax idle sessions', () => {
    const g = gov({ idleSessionsMax: 2 });
    for (const s of ['s1', 's2', 's3']) {
      g.admit(s, s, 10, 0);
      g.release(s, 10);
    }
    expect(g.stats()).toMatchObject({ idleSessions: 2, idleBytes: 20, evictions: 1 });
    expect(g.cachedTokens('s1')).toBe(0);
  });
});

describe('MemoryGovernor: models', () => {
  it('loads at most modelsMax models, unloading the least recently used idle one', () => {
    const g = gov();
    expect(g.useModel('A', 0)).toEqual({ unload: [] });
    expect(g.useModel('B', 10)).toEqual({ unload: [] });
    expect(g.useModel('A', 20)).toEqual({ unload: [] }); // touch
    expect(g.useModel('C', 30)).toEqual({ unload: ['B'] });
    expect([...g.loadedModels()].sort()).toEqual(['A', 'C']);
  });

  it('never unloads a model with running sequences; refuses a new model when all are busy', () => {
    const g = gov();
    g.useModel('A', 0);
    g.useModel('B', 10);
    g.admit('a1', undefined, 10, 20, 'A');
    expect(g.useModel('C', 30)).toEqual({ unload: ['B'] }); // B is idle, although more recent
    g.admit('c1', undefined, 10, 30, 'C');
    expect(g.useModel('D', 40)).toBeUndefined();
    g.release('a1', 0);
    expect(g.useModel('D', 50)).toEqual({ unload: ['A'] });
  });

  it('unloads models idle for idleUnloadMs, but not while they run sequences', () => {
    const g = gov();
    g.useModel('A', 0);
    g.useModel('B', 0);
    g.admit('b1', undefined, 10, 500, 'B');
    expect(g.idleModels(999)).toEqual([]);
    expect(g.idleModels(1000)).toEqual(['A']);
    expect(g.idleModels(5000)).toEqual([]); // B still runs b1
    g.abort('b1');
    expect(g.idleModels(5000)).toEqual(['B']);
    expect(g.loadedModels()).toEqual([]);
  });

  it('forgets a model unloaded by other means: it frees its modelsMax place at once', () => {
    const g = gov();
    g.useModel('A', 0);
    g.useModel('B', 10);
    expect(g.forgetModel('A')).toBe(true);
    expect(g.forgetModel('A')).toBe(false);
    expect(g.loadedModels()).toEqual(['B']);
    expect(g.useModel('C', 20)).toEqual({ unload: [] }); // no victim needed
    expect(g.idleModels(10_000)).toEqual(['B', 'C']);
  });
});

describe('MemoryGovernor: invariants under random sequences', () => {
  const op = fc.oneof(
    fc.record({ t: fc.constant('admit' as const), tokens: fc.integer({ min: 0, max: 600 }), session: fc.option(fc.constantFrom('s1', 's2', 's3', 's4', 's5'), { nil: undefined }) }),
    fc.record({ t: fc.constant('release' as const), pick: fc.nat(), context: fc.integer({ min: 0, max: 700 }) }),
    fc.record({ t: fc.constant('abort' as const), pick: fc.nat() }),
  );

  it('never reports used bytes above capacity and never admits past capacity', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 131_072),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { maxLength: 80 }),
        (bpt, watermark, idleMax, ops) => {
          const capacity = 1000 * bpt;
          const g = new MemoryGovernor({ ...P, kvCapacityBytes: capacity, watermarkFraction: watermark, idleSessionsMax: idleMax }, bpt);
          const running = new Map<string, number>();
          let n = 0;
          for (const o of ops) {
            if (o.t === 'admit') {
              const id = `q${n++}`;
              const before = g.usedBytes();
              const r = g.admit(id, o.session, o.tokens, 0);
              if (r.ok) running.set(id, o.tokens * bpt);
              else {
                expect(r.neededBytes).toBe(o.tokens * bpt);
                expect(before).toBeGreaterThan(0);
              }
            } else if (running.size > 0) {
              const ids = [...running.keys()];
              const id = ids[o.pick % ids.length]!;
              running.delete(id);
              if (o.t === 'release') g.release(id, o.context);
              else g.abort(id);
            }
            const s = g.stats();
            const broken = [
              g.usedBytes() > capacity && `used ${g.usedBytes()} > capacity ${capacity}`,
              g.freeBytes() < 0 && 'negative free bytes',
              s.activeBytes !== [...running.values()].reduce((a, b) => a + b, 0) && 'active bytes ≠ sum of reservations',
              s.activeSequences !== running.size && 'active sequence count',
              s.idleBytes < 0 && 'negative idle bytes',
              s.idleSessions > idleMax && 'too many idle sessions',
              s.activeBytes + s.idleBytes !== g.usedBytes() && 'used ≠ active + idle',
            ].filter((x) => x !== false);
            expect(broken).toEqual([]);
          }
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('MemoryGovernor with a padded batch layout (mlx-lm)', () => {
  it('counts a short sequence beside a long one at the long one\'s length, and gives it back when the long one ends', () => {
    const g = new MemoryGovernor({ ...P, kvCapacityBytes: 10_000, batchLayout: 'padded' }, 1);
    expect(g.admit('long', undefined, 4000, 0, 'm').ok).toBe(true); // 1 x 4000 x 2 = 8000
    const short = g.admit('short', undefined, 10, 0, 'm'); // packed: 4010; padded: 2 x 4000 x 2 = 16000
    expect(short).toEqual({ ok: false, reason: 'kv-memory', neededBytes: 8000, freeBytes: 2000 });
    g.abort('long');
    expect(g.usedBytes()).toBe(0);
    expect(g.admit('short', undefined, 10, 0, 'm').ok).toBe(true);
    expect(g.usedBytes()).toBe(20);
  });
  it('packed (the default) admits the same pair', () => {
    const g = new MemoryGovernor({ ...P, kvCapacityBytes: 10_000 }, 1);
    expect(g.admit('long', undefined, 4000, 0, 'm').ok).toBe(true);
    expect(g.admit('short', undefined, 10, 0, 'm').ok).toBe(true);
    expect(g.usedBytes()).toBe(4010);
  });
});
