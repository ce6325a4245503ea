// The one routing filter: health, breaker, draining, model, capacity; and the retry exclude fallback.
import { describe, expect, it } from 'vitest';
import { routableCandidates, type CandidateState } from './candidates.js';
import { testView } from './test-views.js';

function worker(id: string, over: Partial<Omit<CandidateState, 'view'>> & { inFlight?: number; maxConcurrent?: number } = {}): CandidateState {
  const { inFlight = 0, maxConcurrent = 4, ...rest } = over;
  return { view: testView(id, inFlight, maxConcurrent), models: new Set(['m']), healthy: true, draining: false, breakerAllows: true, ...rest };
}
const ids = (ws: { id: string }[]): string[] => ws.map((w) => w.id);

describe('routableCandidates', () => {
  it('keeps healthy, non-draining, breaker-allowed workers with the model and a free slot, in order', () => {
    const ws = [
      worker('ok1'),
      worker('sick', { healthy: false }),
      worker('draining', { draining: true }),
      worker('open', { breakerAllows: false }),
      worker('other-model', { models: new Set(['x']) }),
      worker('full', { inFlight: 4 }),
      worker('over', { inFlight: 5 }),
      worker('ok2', { inFlight: 3 }),
    ];
    expect(ids(routableCandidates(ws, 'm'))).toEqual(['ok1', 'ok2']);
  });

  it('returns nothing when no worker serves the model', () => {
    expect(routableCandidates([worker('a'), worker('b')], 'missing')).toEqual([]);
    expect(routableCandidates([], 'm')).toEqual([]);
  });

  it('drops excluded workers while others remain', () => {
    const ws = [worker('a'), worker('b'), worker('c')];
    expect(ids(routableCandidates(ws, 'm', new Set(['b'])))).toEqual(['a', 'c']);
  });

  it('falls back to the excluded workers when excluding would leave no candidate', () => {
    const ws = [worker('a'), worker('b', { healthy: false })];
    expect(ids(routableCandidates(ws, 'm', new Set(['a'])))).toEqual(['a']);
  });

  it('never brings back an excluded worker that fails the other filters', () => {
    const ws = [worker('a', { breakerAllows: false }), worker('b', { inFlight: 4 })];
    expect(routableCandidates(ws, 'm', new Set(['a', 'b']))).toEqual([]);
  });

  it('accepts any iterable of worker states', () => {
    const map = new Map([['a', worker('a')], ['b', worker('b', { draining: true })]]);
    expect(ids(routableCandidates(map.values(), 'm'))).toEqual(['a']);
  });
});
