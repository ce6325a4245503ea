// The adaptive per-worker limit inside GatewayCore (admission.adaptive): the core never dispatches
// beyond it, it shrinks on slow completions and grows back on fast ones, and off means the static limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import type { DeepPartial, GatewayConfig } from '../config/types.js';
import { GatewayCore } from './gateway-core.js';
import type { Command } from './messages.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

const ADAPTIVE = { enabled: true, targetMsPerToken: 50, minConcurrent: 2, decreaseFactor: 0.5, increasePerRoundTrip: 1 };

function core(over: DeepPartial<GatewayConfig> = {}, maxConcurrent = 8): GatewayCore {
  const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, routing: { type: 'least-loaded' }, admission: { adaptive: ADAPTIVE }, ...over }), testRng(1));
  c.onWorkerStatus(makeStatus('w1', { maxConcurrent }), 0);
  return c;
}

const dispatched = (cmds: Command[]) => cmds.flatMap((c) => (c.type === 'dispatch' ? c.requests.map((r) => r.id) : []));
const info = (c: GatewayCore, now: number) => c.workerInfo(now)[0]!;

/** Runs request `id` on w1: first token at `firstMs`, done at `doneMs` with `tokens` tokens. */
function finish(c: GatewayCore, id: string, firstMs: number, doneMs: number, tokens: number): Command[] {
  c.onWorkerEvent({ kind: 'tokens', workerId: 'w1', requestId: id, tokens: 1 }, firstMs);
  return c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: id, output: { promptTokens: 16, completionTokens: tokens, finishReason: 'length' } }, doneMs);
}

describe('gateway core: adaptive per-worker limit', () => {
  it('is off by default: the static limit, no adaptive figure', () => {
    const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' } }), testRng(1));
    c.onWorkerStatus(makeStatus('w1', { maxConcurrent: 8 }), 0);
    expect(info(c, 0)).toMatchObject({ maxConcurrent: 8, staticMaxConcurrent: 8 });
    expect(info(c, 0).adaptiveLimit).toBeUndefined();
  });

  it('shrinks on a slow completion, queues the excess, and grows back on fast ones', () => {
    const c = core();
    const first = [];
    for (let i = 0; i < 12; i++) first.push(...dispatched(c.onRequestArrived(makeRequest(`r${i}`, { text: `r${i}` }), 0)));
    expect(first).toHaveLength(8); // the static limit: 4 wait in the gateway queue
    expect(info(c, 0)).toMatchObject({ maxConcurrent: 8, adaptiveLimit: 8, inFlight: 8 });
    // 100 ms per token > 50: the limit halves to 4; 7 still run, so nothing new is dispatched
    expect(dispatched(finish(c, 'r0', 100, 1100, 11))).toEqual([]);
    expect(info(c, 1100)).toMatchObject({ maxConcurrent: 4, adaptiveLimit: 4, inFlight: 7, staticMaxConcurrent: 8 });
    // the others drain; a queued request starts only when in-flight falls below 4
    let t = 1100;
    const started: string[] = [];
    for (let i = 1; i < 8; i++) {
      started.push(...dispatched(finish(c, `r${i}`, t + 1, t + 100, 11))); // 10 ms per token: fast
      t += 100;
      const w = info(c, t);
      expect(w.inFlight).toBeLessThanOrEqual(Math.max(w.maxConcurrent, 7 - i));
    }
    expect(started.length).toBeGreaterThan(0);
    expect(info(c, t).adaptiveLimit).toBeGreaterThanOrEqual(4);
    // fast completions while the limit is in use raise it back towards the static limit
    for (let i = 0; i < 200; i++) {
      const id = `g${i}`;
      c.onRequestArrived(makeRequest(id, { text: id }), t);
      finish(c, id, t + 1, t + 50, 11);
      t += 50;
    }
    expect(info(c, t).adaptiveLimit).toBe(8);
  });

  it('never dispatches beyond the adaptive limit, which stays within [minConcurrent, static limit] (random event sequences)', () => {
    type Op = { kind: 'arrive' } | { kind: 'finish'; pick: number; msPerToken: number; tokens: number } | { kind: 'status'; maxConcurrent: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'arrive' as const }),
      fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), msPerToken: fc.integer({ min: 1, max: 200 }), tokens: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('status' as const), maxConcurrent: fc.integer({ min: 1, max: 16 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const c = core({ admission: { adaptive: ADAPTIVE, queueMax: 1000, queueTimeoutMs: 3_600_000 } });
        const running: string[] = [];
        let t = 0;
        let n = 0;
        for (const o of ops) {
          t += 10;
          const before = info(c, t).inFlight;
          let cmds: Command[];
          if (o.kind === 'arrive') cmds = c.onRequestArrived(makeRequest(`q${n}`, { text: `q${n++}` }), t);
          else if (o.kind === 'status') cmds = c.onWorkerStatus(makeStatus('w1', { maxConcurrent: o.maxConcurrent }), t);
          else {
            if (running.length === 0) continue;
            const id = running.splice(o.pick % running.length, 1)[0]!;
            const doneAt = t + o.msPerToken * Math.max(1, o.tokens);
            cmds = o.tokens === 0 ? c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: id, output: { promptTokens: 1, completionTokens: 0, finishReason: 'stop' } }, t) : finish(c, id, t, doneAt, o.tokens);
            t = Math.max(t, doneAt);
          }
          running.push(...dispatched(cmds));
          const w = info(c, t);
          expect(w.inFlight).toBe(running.length);
          if (w.inFlight > before) expect(w.inFlight).toBeLessThanOrEqual(w.maxConcurrent);
          expect(w.maxConcurrent).toBeLessThanOrEqual(w.staticMaxConcurrent!);
          expect(w.adaptiveLimit).toBeGreaterThanOrEqual(Math.min(ADAPTIVE.minConcurrent, w.staticMaxConcurrent!));
          expect(w.maxConcurrent).toBe(Math.min(w.staticMaxConcurrent!, w.adaptiveLimit!));
        }
      }),
      { numRuns: 200 },
    );
  });
});
