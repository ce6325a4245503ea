// Session affinity (the core's default routing) keeps a session on one worker, over real gRPC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, startHarness, type Harness } from './test-harness.js';

describe('session affinity with two workers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: [{}, {}] });
  });
  afterAll(() => h.close());

  const workerOf = (traceId: string) => h.workers.filter((w) => w.traceIds.includes(traceId)).map((w) => w.id);

  it('sends every request of a session (x-session-id header or `user`) to the same worker', async () => {
    const sessions = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const placed = new Map<string, Set<string>>();
    for (let round = 0; round < 4; round++) {
      await Promise.all(sessions.map(async (s, i) => {
        const trace = `t-${s}-${round}`;
        const viaHeader = i % 2 === 0;
        const r = await h.fetch('/v1/chat/completions', {
          json: chatBody(`turn ${round} of ${s}`, { temperature: 0.8, ...(viaHeader ? {} : { user: s }) }),
          headers: { 'x-request-id': trace, ...(viaHeader ? { 'x-session-id': s } : {}) },
        });
        expect(r.status).toBe(200);
        expect(r.headers.get('x-request-id')).toBe(trace);
        await r.text();
        const ws = workerOf(trace);
        expect(ws).toHaveLength(1);
        let set = placed.get(s);
        if (set === undefined) placed.set(s, (set = new Set()));
        set.add(ws[0]!);
      }));
    }
    for (const [s, set] of placed) expect(set.size, s).toBe(1);
    // Six sessions over two workers: both get some (jump hash spreads them).
    expect(new Set([...placed.values()].map((s) => [...s][0])).size).toBe(2);
  });
});
