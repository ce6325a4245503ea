import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import type { DeepPartial, GatewayConfig } from '../config/types.js';
import { GatewayCore } from './gateway-core.js';
import { isTerminal, type Command, type WorkerOutput } from './messages.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

function core(over: DeepPartial<GatewayConfig> = {}, workers = ['w1', 'w2']): GatewayCore {
  const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, ...over }), testRng(1));
  for (const w of workers) c.onWorkerStatus(makeStatus(w), 0);
  return c;
}

const output: WorkerOutput = { promptTokens: 16, completionTokens: 8, finishReason: 'length', text: 'hello' };
const ofType = <T extends Command['type']>(cmds: Command[], type: T) => cmds.filter((c): c is Extract<Command, { type: T }> => c.type === type);

describe('gateway core: serving path', () => {
  it('dispatches after the micro-batch window and completes once', () => {
    const c = core({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 4, dispatchWhenIdle: false } });
    const a = c.onRequestArrived(makeRequest('r1'), 0);
    expect(ofType(a, 'dispatch')).toHaveLength(0);
    expect(ofType(a, 'wakeAt')[0]?.atMs).toBe(5);
    const b = c.onTimer(5);
    const [d] = ofType(b, 'dispatch');
    expect(d?.requests.map((r) => r.id)).toEqual(['r1']);
    const done = c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'r1', output }, 50);
    expect(ofType(done, 'complete')).toEqual([{ type: 'complete', requestId: 'r1', usage: { promptTokens: 16, completionTokens: 8 }, via: 'worker' }]);
    expect(c.activeCount()).toBe(0);
    expect(c.outcomes.byOutcome.served).toBe(1);
  });

  it('releases a full batch at once, as one dispatch per worker', () => {
    const c = core({ batching: { type: 'micro', windowMs: 10, maxBatchSize: 2, dispatchWhenIdle: false }, routing: { type: 'least-loaded' } }, ['w1']);
    c.onRequestArrived(makeRequest('a', { text: 'a' }), 0);
    const cmds = c.onRequestArrived(makeRequest('b', { text: 'b' }), 1);
    expect(ofType(cmds, 'dispatch').map((d) => d.requests.length)).toEqual([2]);
  });

  describe('dispatchWhenIdle (Nagle\'s rule for the batching window)', () => {
    const nagle = (type: 'micro' | 'adaptive') => core(type === 'micro'
      ? { batching: { type: 'micro', windowMs: 5, maxBatchSize: 4 }, routing: { type: 'least-loaded' } }
      : { batching: { type: 'adaptive', windowMsMax: 5, maxBatchSize: 4 }, routing: { type: 'least-loaded' } }, ['w1']);
    const ids = (cmds: Command[]) => ofType(cmds, 'dispatch').map((d) => d.requests.map((r) => r.id));

    for (const type of ['micro', 'adaptive'] as const) {
      it(`${type}: a request of a model with no unanswered dispatch leaves at once; later ones wait for the answer`, () => {
        const c = nagle(type);
        expect(ids(c.onRequestArrived(makeRequest('a', { text: 'a' }), 0))).toEqual([['a']]);
        // a is unanswered: b and c wait (for the window at most)
        expect(ids(c.onRequestArrived(makeRequest('b', { text: 'b' }), 0.1))).toEqual([]);
        expect(ids(c.onRequestArrived(makeRequest('c', { text: 'c' }), 0.2))).toEqual([]);
        // a's first answer releases them together, before the window ends
        expect(ids(c.onWorkerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 1, text: 'x' }, 0.3))).toEqual([['b', 'c']]);
        // a answered, b and c not yet: d waits; their windows still bound the wait
        expect(ids(c.onRequestArrived(makeRequest('d', { text: 'd' }), 0.4))).toEqual([]);
        expect(ids(c.onTimer(5.4))).toEqual([['d']]);
      });
    }

    it('a done event (no tokens before it) answers too, and so does an attempt that leaves its worker', () => {
      const c = nagle('micro');
      c.onRequestArrived(makeRequest('a', { text: 'a' }), 0);
      expect(ids(c.onRequestArrived(makeRequest('b', { text: 'b' }), 1))).toEqual([]);
      expect(ids(c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: 'a', output }, 2))).toEqual([['b']]);
      c.onRequestCancelled('b', 3); // leaves its worker unanswered
      expect(ids(c.onRequestArrived(makeRequest('c', { text: 'c' }), 4))).toEqual([['c']]);
    });

    it('off: every request waits for the window from an idle core', () => {
      const c = core({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 4, dispatchWhenIdle: false } }, ['w1']);
      expect(ids(c.onRequestArrived(makeRequest('a', { text: 'a' }), 0))).toEqual([]);
      expect(ids(c.onTimer(5))).toEqual([['a']]);
    });
  });

  it('serves an identical request from the dedupe cache within its TTL, then from the response cache', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('r1'), 0), 'dispatch');
    c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'r1', output }, 100);
    const hit = ofType(c.onRequestArrived(makeRequest('r2', { text: 'prompt of r1' }), 500), 'serveFromCache');
    expect(hit).toMatchObject([{ requestId: 'r2', source: 'dedupe', answer: { text: 'hello', completionTokens: 8 } }]);
    const later = ofType(c.onRequestArrived(makeRequest('r3', { text: 'prompt of r1' }), 5000), 'serveFromCache');
    expect(later).toMatchObject([{ requestId: 'r3', source: 'cache' }]);
    expect(c.outcomes.byOutcome).toMatchObject({ served: 1, deduped: 1, cached: 1 });
  });

  it('does not share sampled requests without a seed, nor requests that opt out', () => {
    const c = core();
    const warm = ofType(c.onRequestArrived(makeRequest('a', { text: 'x', sampling: { temperature: 0.7 } }), 0), 'dispatch');
    c.onWorkerEvent({ kind: 'done', workerId: warm[0]!.workerId, requestId: 'a', output }, 10);
    expect(ofType(c.onRequestArrived(makeRequest('b', { text: 'x', sampling: { temperature: 0.7 } }), 20), 'dispatch')).toHaveLength(1);
    expect(ofType(c.onRequestArrived(makeRequest('c', { text: 'y', cacheBypass: true }), 20), 'dispatch')).toHaveLength(1);
    expect(ofType(c.onRequestArrived(makeRequest('d', { text: 'y', cacheBypass: true }), 20), 'dispatch')).toHaveLength(1);
    // a fixed seed makes sampling deterministic, hence shareable
    ofType(c.onRequestArrived(makeRequest('e', { text: 'z', sampling: { temperature: 0.7, seed: 3 } }), 30), 'dispatch');
    expect(ofType(c.onRequestArrived(makeRequest('f', { text: 'z', sampling: { temperature: 0.7, seed: 3 } }), 30), 'attachFollower')).toHaveLength(1);
  });

  it('coalesces identical in-flight requests: one job, stream fanned out, both complete', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('lead', { text: 'same' }), 0), 'dispatch');
    const f = c.onRequestArrived(makeRequest('follow', { text: 'same' }), 1);
    expect(ofType(f, 'attachFollower')).toEqual([{ type: 'attachFollower', leaderId: 'lead', followerId: 'follow' }]);
    expect(ofType(f, 'dispatch')).toHaveLength(0);
    const tok = ofType(c.onWorkerEvent({ kind: 'tokens', workerId: d!.workerId, requestId: 'lead', tokens: 1, text: 'h' }, 2), 'deliver');
    expect(tok[0]?.recipients).toEqual(['lead', 'follow']);
    const done = c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'lead', output }, 3);
    expect(ofType(done, 'complete').map((x) => [x.requestId, x.via])).toEqual([['lead', 'worker'], ['follow', 'coalesced']]);
    expect(c.outcomes.tokensSaved).toBe(8);
  });

  it('releases a follower to run alone when the leader has produced nothing before the timeout', () => {
    const c = core({ caching: { coalescing: { followerTimeoutMs: 100 } } });
    c.onRequestArrived(makeRequest('lead', { text: 's' }), 0);
    c.onRequestArrived(makeRequest('f', { text: 's' }), 1);
    const cmds = c.onTimer(101);
    expect(ofType(cmds, 'detachFollower')).toEqual([{ type: 'detachFollower', leaderId: 'lead', followerId: 'f' }]);
    expect(ofType(cmds, 'dispatch').flatMap((d) => d.requests.map((r) => r.id))).toEqual(['f']);
  });

  it('keeps routing a session to the same worker', () => {
    const c = core({}, ['w1', 'w2', 'w3', 'w4']);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const [d] = ofType(c.onRequestArrived(makeRequest(`t${i}`, { sessionId: 'alice', text: `turn ${i}` }), i * 10), 'dispatch');
      seen.add(d!.workerId);
      c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: `t${i}`, output }, i * 10 + 5);
    }
    expect(seen.size).toBe(1);
  });
});

describe('gateway core: refusals', () => {
  it('rejects an unknown model with 404', () => {
    const [r] = ofType(core().onRequestArrived(makeRequest('r', { model: 'nope' }), 0), 'reject');
    expect(r).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('rate-limits per API key with 429 and Retry-After', () => {
    const c = core({ rateLimit: { enabled: true, requestsPerMinute: 2 } });
    for (const id of ['a', 'b']) expect(ofType(c.onRequestArrived(makeRequest(id, { apiKey: 'k', text: id }), 0), 'reject')).toHaveLength(0);
    const [r] = ofType(c.onRequestArrived(makeRequest('c', { apiKey: 'k', text: 'c' }), 0), 'reject');
    expect(r).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(r!.retryAfterMs).toBeGreaterThan(0);
    expect(ofType(c.onRequestArrived(makeRequest('d', { apiKey: 'other', text: 'd' }), 0), 'reject')).toHaveLength(0);
  });

  it('queues when every worker is full, drains when one frees, and refuses beyond the queue bound', () => {
    const c = core({ admission: { maxConcurrentPerWorker: 1, queueMax: 1 } }, ['w1']);
    const [d] = ofType(c.onRequestArrived(makeRequest('a', { text: 'a' }), 0), 'dispatch');
    expect(ofType(c.onRequestArrived(makeRequest('b', { text: 'b' }), 0), 'dispatch')).toHaveLength(0);
    const [full] = ofType(c.onRequestArrived(makeRequest('c', { text: 'c' }), 0), 'reject');
    expect(full).toMatchObject({ status: 503, code: 'queue_full' });
    expect(full!.retryAfterMs).toBeGreaterThanOrEqual(1000);
    const next = ofType(c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'a', output }, 10), 'dispatch');
    expect(next.flatMap((x) => x.requests.map((r) => r.id))).toEqual(['b']);
  });

  it('refuses at once a request that would only time out in the queue, from the measured drain rate', () => {
    const run = (earlyRefusalFactor: number) => {
      const c = core({ admission: { maxConcurrentPerWorker: 1, queueTimeoutMs: 2000, earlyRefusalFactor } }, ['w1']);
      // 6 requests served one after another, one every 500 ms: 2 completions per second.
      let t = 0;
      for (let i = 0; i < 6; i++, t += 500) {
        const [d] = ofType(c.onRequestArrived(makeRequest(`s${i}`, { text: `s${i}` }), t), 'dispatch');
        c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: `s${i}`, output }, t + 500);
      }
      c.onWorkerStatus(makeStatus('w1'), t);
      expect(ofType(c.onRequestArrived(makeRequest('busy', { text: 'busy' }), t), 'dispatch')).toHaveLength(1);
      // Queued requests wait (ahead + 1) / 2 per second: 0.5, 1, 1.5, 2 s, 2.5, 3 s — within 1.5 × the 2 s timeout.
      for (let i = 0; i < 6; i++) expect(ofType(c.onRequestArrived(makeRequest(`q${i}`, { text: `q${i}` }), t), 'reject')).toHaveLength(0);
      return ofType(c.onRequestArrived(makeRequest('late', { text: 'late' }), t), 'reject');
    };
    const [r] = run(1.5);
    expect(r).toMatchObject({ requestId: 'late', status: 503, code: 'queue_full' });
    expect(r!.retryAfterMs).toBeGreaterThanOrEqual(3400);
    expect(r!.retryAfterMs).toBeLessThanOrEqual(3700);
    expect(run(0)).toHaveLength(0);
  });

  it('refuses with 503 when no worker of the model is healthy (3 missed heartbeats)', () => {
    const c = core({}, ['w1']);
    expect(ofType(c.onRequestArrived(makeRequest('a'), 14_999), 'reject')).toHaveLength(0);
    const [r] = ofType(c.onRequestArrived(makeRequest('b', { text: 'b' }), 15_000), 'reject');
    expect(r).toMatchObject({ status: 503, code: 'no_healthy_worker' });
    c.onWorkerStatus(makeStatus('w1'), 15_001);
    expect(ofType(c.onRequestArrived(makeRequest('c', { text: 'c' }), 15_002), 'reject')).toHaveLength(0);
  });
});

describe('gateway core: failures', () => {
  it('retries a failed attempt on another worker when no token was sent', () => {
    const c = core({ retry: { baseDelayMs: 10, capDelayMs: 10 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const err = c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: { code: 'boom', message: 'x' } }, 5);
    expect(ofType(err, 'fail')).toHaveLength(0);
    const [again] = ofType(c.onTimer(20), 'dispatch');
    expect(again?.workerId).not.toBe(d!.workerId);
    expect(ofType(c.onWorkerEvent({ kind: 'done', workerId: again!.workerId, requestId: 'r', output }, 30), 'complete')).toHaveLength(1);
    expect(c.outcomes.retries).toBe(1);
  });

  it('a runtime lost before the first token: retried on the same worker when it has another runtime (retryHere), charged to the budget and the breaker', () => {
    const c = core({ retry: { baseDelayMs: 10, capDelayMs: 10 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const budgetBefore = c.retry.budget.available();
    const lost = { code: 'runtime_lost', message: 'runtime 1 of 2 died', retryHere: true };
    expect(ofType(c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: lost }, 5), 'fail')).toHaveLength(0);
    expect(c.retry.budget.available()).toBe(budgetBefore - 1);
    const [again] = ofType(c.onTimer(20), 'dispatch');
    expect(again?.workerId).toBe(d!.workerId);
    expect(c.outcomes.retries).toBe(1);
    // without retryHere (no other runtime alive there) the retry goes elsewhere
    const noRuntime = { ...lost, retryHere: false };
    expect(ofType(c.onWorkerEvent({ kind: 'error', workerId: again!.workerId, requestId: 'r', failure: noRuntime }, 30), 'fail')).toHaveLength(0);
    const [third] = ofType(c.onTimer(50), 'dispatch');
    expect(third?.workerId).not.toBe(d!.workerId);
    expect(c.outcomes.retries).toBe(2);
  });

  it('a runtime lost with retryHere goes elsewhere when its worker is no longer routable (breaker open), and fails when retries are off', () => {
    const c = core({ retry: { baseDelayMs: 10, capDelayMs: 10 }, breaker: { volumeMin: 1, errorRateMax: 0.5 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: { code: 'runtime_lost', message: 'x', retryHere: true } }, 5);
    expect(c.workerInfo(5).find((w) => w.id === d!.workerId)?.breaker).toBe('open');
    const [again] = ofType(c.onTimer(20), 'dispatch');
    expect(again?.workerId).not.toBe(d!.workerId);

    const off = core({ retry: { attemptsMax: 1 } });
    const [d2] = ofType(off.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const [f] = ofType(off.onWorkerEvent({ kind: 'error', workerId: d2!.workerId, requestId: 'r', failure: { code: 'runtime_lost', message: 'x', retryHere: true } }, 5), 'fail');
    expect(f).toMatchObject({ requestId: 'r', status: 502, code: 'worker_error' });
  });

  it('never retries a stream that already sent tokens: it fails with the count', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    c.onWorkerEvent({ kind: 'tokens', workerId: d!.workerId, requestId: 'r', tokens: 3 }, 1);
    const [f] = ofType(c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: { code: 'boom', message: 'x' } }, 2), 'fail');
    expect(f).toMatchObject({ requestId: 'r', status: 502, code: 'worker_error', tokensSent: 3 });
  });

  it('times out a silent worker, cancels there, opens its breaker and retries elsewhere', () => {
    const c = core({ breaker: { timeoutMs: 1000 }, retry: { baseDelayMs: 1, capDelayMs: 1 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const t = c.onTimer(1000);
    expect(ofType(t, 'cancel')).toEqual([{ type: 'cancel', workerId: d!.workerId, requestId: 'r' }]);
    const [again] = ofType(c.onTimer(1002), 'dispatch');
    expect(again?.workerId).not.toBe(d!.workerId);
    expect(c.workerInfo(1002).find((w) => w.id === d!.workerId)?.breaker).toBe('open');
    // a late event from the abandoned attempt is ignored
    expect(c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'r', output }, 1003)).toEqual([]);
  });

  it('holds requests while the only worker’s breaker cools (it half-opens before their queue deadline), then probes it', () => {
    const c = core({ breaker: { timeoutMs: 1000, cooldownMs: 2000, halfOpenProbesMax: 1 }, retry: { attemptsMax: 1 }, admission: { queueTimeoutMs: 5000 } }, ['w1']);
    ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    expect(ofType(c.onTimer(1000), 'fail')).toHaveLength(1); // timed out, no retry left
    expect(c.workerInfo(1000)[0]?.breaker).toBe('open');
    c.onWorkerStatus(makeStatus('w1'), 1000); // alive by heartbeat
    const held = c.onRequestArrived(makeRequest('a', { text: 'a' }), 1500);
    expect(ofType(held, 'reject')).toHaveLength(0);
    expect(ofType(held, 'dispatch')).toHaveLength(0);
    c.onRequestArrived(makeRequest('b', { text: 'b' }), 1600);
    // The breaker half-opens at 3000: one probe goes; its success closes the breaker and the rest follows.
    const [probe] = ofType(c.onTimer(3000), 'dispatch');
    expect(probe?.requests.map((r) => r.id)).toEqual(['a']);
    const after = c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: 'a', output }, 3050);
    expect(ofType(after, 'complete')).toHaveLength(1);
    expect(ofType(after, 'dispatch').flatMap((d) => d.requests.map((r) => r.id))).toEqual(['b']);
    expect(c.workerInfo(3050)[0]?.breaker).toBe('closed');
  });

  it('still refuses at once, with Retry-After, when the breaker cools for longer than a request may queue', () => {
    const c = core({ breaker: { timeoutMs: 1000, cooldownMs: 60_000 }, retry: { attemptsMax: 1 }, admission: { queueTimeoutMs: 5000 } }, ['w1']);
    ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    c.onTimer(1000);
    c.onWorkerStatus(makeStatus('w1'), 1000);
    const [r] = ofType(c.onRequestArrived(makeRequest('a', { text: 'a' }), 1500), 'reject');
    expect(r).toMatchObject({ status: 503, code: 'no_healthy_worker' });
    expect(r!.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry a request the worker refused as the client’s fault', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const f = c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: { code: 'bad', message: 'x', clientFault: true } }, 1);
    expect(ofType(f, 'fail')).toHaveLength(1);
    expect(ofType(f, 'fail')[0]).toMatchObject({ status: 400, code: 'invalid_request', message: 'x' });
  });

  it('a worker\'s deadline_exceeded is final: 504, no retry, not counted against the worker', () => {
    const c = core({ breaker: { volumeMin: 1, errorRateMax: 0.5 }, retry: { baseDelayMs: 1, capDelayMs: 1 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const f = c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: 'r', failure: { code: 'deadline_exceeded', message: 'request r passed its deadline', clientFault: false } }, 5);
    expect(ofType(f, 'fail')).toEqual([expect.objectContaining({ requestId: 'r', status: 504, code: 'deadline_exceeded', message: 'request r passed its deadline' })]);
    expect(c.outcomes.retries).toBe(0);
    expect(c.workerInfo(5).find((w) => w.id === d!.workerId)?.breaker).toBe('closed');
  });

  it('answers a client-fault refusal with the worker’s 4xx code and message, and does not count it against the worker', () => {
    const c = core({ breaker: { volumeMin: 1, errorRateMax: 0.5 } }, ['w1']);
    for (const [i, code] of (['context_length_exceeded', 'kv_exceeds_capacity'] as const).entries()) {
      const [d] = ofType(c.onRequestArrived(makeRequest(`r${i}`, { text: `t${i}` }), i * 10), 'dispatch');
      const f = c.onWorkerEvent({ kind: 'error', workerId: d!.workerId, requestId: `r${i}`, failure: { code, message: `${code}: 9000 tokens`, clientFault: true } }, i * 10 + 1);
      expect(ofType(f, 'fail')).toEqual([expect.objectContaining({ status: 400, code, message: `${code}: 9000 tokens` })]);
    }
    // the breaker (opened by one failure in one) stayed closed: the next request is dispatched to w1 at once
    expect(ofType(c.onRequestArrived(makeRequest('next', { text: 'n' }), 100), 'dispatch')).toHaveLength(1);
  });

  it('moves a removed worker’s requests elsewhere', () => {
    const c = core({ retry: { baseDelayMs: 1, capDelayMs: 1 } });
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    c.onWorkerRemoved(d!.workerId, 5);
    const [again] = ofType(c.onTimer(10), 'dispatch');
    expect(again?.workerId).not.toBe(d!.workerId);
  });
});

describe('gateway core: cancellation', () => {
  it('cancels a running job on its worker', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('r'), 0), 'dispatch');
    const cmds = c.onRequestCancelled('r', 1);
    expect(ofType(cmds, 'cancel')).toEqual([{ type: 'cancel', workerId: d!.workerId, requestId: 'r' }]);
    expect(ofType(cmds, 'fail')).toMatchObject([{ requestId: 'r', status: 499, code: 'client_cancelled' }]);
    expect(c.activeCount()).toBe(0);
  });

  it('keeps a leader’s job running for its followers when the leader’s client leaves', () => {
    const c = core();
    const [d] = ofType(c.onRequestArrived(makeRequest('lead', { text: 's' }), 0), 'dispatch');
    c.onRequestArrived(makeRequest('f', { text: 's' }), 1);
    const cmds = c.onRequestCancelled('lead', 2);
    expect(ofType(cmds, 'cancel')).toHaveLength(0);
    const tok = ofType(c.onWorkerEvent({ kind: 'tokens', workerId: d!.workerId, requestId: 'lead', tokens: 1 }, 3), 'deliver');
    expect(tok[0]?.recipients).toEqual(['f']);
    const done = c.onWorkerEvent({ kind: 'done', workerId: d!.workerId, requestId: 'lead', output }, 4);
    expect(ofType(done, 'complete').map((x) => x.requestId)).toEqual(['f']);
  });
});

// ───────────────── model test: random event sequences never lose or double-count a request ─────────────────

type Action =
  | { a: 'arrive'; prompt: number; sampled: boolean; session: number | null; bypass: boolean }
  | { a: 'cancel'; pick: number }
  | { a: 'tokens' | 'done' | 'error'; pick: number }
  | { a: 'stale'; pick: number }
  | { a: 'status'; worker: number; healthy: boolean; draining: boolean }
  | { a: 'remove'; worker: number }
  | { a: 'advance'; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ a: fc.constant('arrive' as const), prompt: fc.integer({ min: 0, max: 3 }), sampled: fc.boolean(), session: fc.option(fc.integer({ min: 0, max: 3 })), bypass: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 8, arbitrary: fc.record({ a: fc.constantFrom('tokens' as const, 'done' as const, 'error' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('stale' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('status' as const), worker: fc.integer({ min: 0, max: 3 }), healthy: fc.boolean(), draining: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('remove' as const), worker: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ a: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }) },
);

const configArb = fc.record({
  routing: fc.constantFrom('session-affinity', 'round-robin', 'least-loaded', 'power-of-two', 'latency-aware', 'prefix-aware'),
  batching: fc.constantFrom('none', 'micro', 'adaptive'),
  dispatchWhenIdle: fc.boolean(),
  maxConcurrent: fc.integer({ min: 1, max: 3 }),
  queueMax: fc.integer({ min: 0, max: 6 }),
  followerTimeoutMs: fc.integer({ min: 1, max: 30_000 }),
  rateLimited: fc.boolean(),
});

describe('gateway core: model test', () => {
  it('accounts every request exactly once under random event sequences', () => {
    fc.assert(
      fc.property(configArb, fc.array(actionArb, { minLength: 20, maxLength: 150 }), fc.integer(), (cfg, actions, seed) => {
        const c = new GatewayCore(
          resolveGatewayConfig({
            routing: { type: cfg.routing },
            batching: cfg.batching === 'none' ? { type: 'none' } : { type: cfg.batching, dispatchWhenIdle: cfg.dispatchWhenIdle },
            admission: { maxConcurrentPerWorker: cfg.maxConcurrent, queueMax: cfg.queueMax, queueTimeoutMs: 30_000 },
            caching: { coalescing: { followerTimeoutMs: cfg.followerTimeoutMs } },
            rateLimit: { enabled: cfg.rateLimited, requestsPerMinute: 30 },
            breaker: { cooldownMs: 5000, timeoutMs: 10_000 },
          } as DeepPartial<GatewayConfig>),
          testRng(seed),
        );
        const h = new Harness(c);
        for (let w = 0; w < 3; w++) h.run(c.onWorkerStatus(makeStatus(`w${w}`), 0));
        for (const act of actions) h.step(act);
        h.drain();
        expect(c.activeCount()).toBe(0);
        expect(h.terminal.size).toBe(h.arrived.length);
        expect(c.outcomes.finished()).toBe(c.outcomes.arrived);
      }),
      { numRuns: 200, seed: 20261122 },
    );
  });
});

class Harness {
  nowMs = 0;
  readonly arrived: string[] = [];
  readonly terminal = new Map<string, Command['type']>();
  readonly running = new Map<string, string>(); // job → worker
  readonly workers = new Set(['w0', 'w1', 'w2']);
  private next = 0;

  constructor(private readonly c: GatewayCore) {}

  run(cmds: Command[]): void {
    for (const cmd of cmds) {
      if (isTerminal(cmd)) {
        expect(this.arrived, `terminal for unknown ${cmd.requestId}`).toContain(cmd.requestId);
        expect(this.terminal.has(cmd.requestId), `second terminal for ${cmd.requestId}`).toBe(false);
        this.terminal.set(cmd.requestId, cmd.type);
      } else if (cmd.type === 'dispatch') {
        for (const r of cmd.requests) {
          expect(this.running.has(r.id), `${r.id} dispatched while running`).toBe(false);
          this.running.set(r.id, cmd.workerId);
        }
        const info = this.c.workerInfo(this.nowMs).find((w) => w.id === cmd.workerId);
        expect(info, `dispatch to unknown worker ${cmd.workerId}`).toBeDefined();
        expect(info!.inFlight).toBeLessThanOrEqual(info!.maxConcurrent);
        expect(info!.healthy && !info!.draining && info!.breaker !== 'open', `dispatch to ${cmd.workerId} while unroutable`).toBe(true);
      } else if (cmd.type === 'cancel') {
        this.running.delete(cmd.requestId);
      } else if (cmd.type === 'wakeAt') {
        expect(cmd.atMs).toBeGreaterThanOrEqual(0);
      }
    }
  }

  step(act: Action): void {
    const c = this.c;
    switch (act.a) {
      case 'arrive': {
        const id = `r${this.next++}`;
        this.arrived.push(id);
        const req = makeRequest(id, {
          text: `p${act.prompt}`,
          sampling: { temperature: act.sampled ? 0.8 : 0 },
          cacheBypass: act.bypass,
          apiKey: 'k',
          ...(act.session !== null && { sessionId: `s${act.session}` }),
          prefixBlocks: [act.prompt],
        });
        return this.run(c.onRequestArrived(req, this.nowMs));
      }
      case 'cancel': {
        const open = this.arrived.filter((id) => !this.terminal.has(id));
        if (open.length > 0) this.run(c.onRequestCancelled(open[act.pick % open.length]!, this.nowMs));
        return;
      }
      case 'tokens':
      case 'done':
      case 'error': {
        const jobs = [...this.running.entries()];
        if (jobs.length === 0) return;
        const [job, workerId] = jobs[act.pick % jobs.length]!;
        if (act.a !== 'tokens') this.running.delete(job);
        return this.run(c.onWorkerEvent(this.workerEvent(act.a, workerId, job), this.nowMs));
      }
      case 'stale': {
        if (this.arrived.length === 0) return;
        const id = this.arrived[act.pick % this.arrived.length]!;
        if (this.running.has(id)) return;
        return this.run(c.onWorkerEvent({ kind: 'done', workerId: 'w0', requestId: id, output }, this.nowMs));
      }
      case 'status':
        this.workers.add(`w${act.worker}`);
        return this.run(c.onWorkerStatus(makeStatus(`w${act.worker}`, { healthy: act.healthy, draining: act.draining }), this.nowMs));
      case 'remove': {
        const id = `w${act.worker}`;
        for (const [job, w] of [...this.running]) if (w === id) this.running.delete(job);
        this.workers.delete(id);
        return this.run(c.onWorkerRemoved(id, this.nowMs));
      }
      case 'advance':
        this.nowMs += act.ms;
        return this.run(c.onTimer(this.nowMs));
    }
  }

  /** Brings every worker back and lets every job finish; all requests must end. */
  drain(): void {
    for (let round = 0; round < 200 && this.c.activeCount() > 0; round++) {
      for (const w of ['w0', 'w1', 'w2']) {
        this.workers.add(w);
        this.run(this.c.onWorkerStatus(makeStatus(w), this.nowMs));
      }
      for (const [job, workerId] of [...this.running]) {
        this.running.delete(job);
        this.run(this.c.onWorkerEvent(this.workerEvent('done', workerId, job), this.nowMs));
      }
      this.nowMs += 7_000;
      this.run(this.c.onTimer(this.nowMs));
    }
  }

  private workerEvent(kind: 'tokens' | 'done' | 'error', workerId: string, requestId: string) {
    if (kind === 'tokens') return { kind, workerId, requestId, tokens: 1 } as const;
    if (kind === 'done') return { kind, workerId, requestId, output } as const;
    return { kind, workerId, requestId, failure: { code: 'x', message: 'x' } } as const;
  }
}

describe('gateway core: a model that leaves the cluster', () => {
  it('refuses requests still waiting for it with 404 instead of holding them until the queue timeout', () => {
    const c = core({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 4, dispatchWhenIdle: false } }, ['w1']);
    c.onRequestArrived(makeRequest('r'), 0);
    c.onWorkerStatus(makeStatus('w1', { models: ['other'] }), 1);
    const [r] = ofType(c.onTimer(5), 'reject');
    expect(r).toMatchObject({ requestId: 'r', status: 404, code: 'model_not_found' });
    expect(c.activeCount()).toBe(0);
  });
});

describe('gateway core: one-shot calls (embeddings)', () => {
  it('picks the least-loaded routable worker, a full one when none is free, and names why when none fits', () => {
    const c = core({ admission: { maxConcurrentPerWorker: 1 } }, ['w1', 'w2']);
    const [d] = ofType(c.onRequestArrived(makeRequest('busy'), 0), 'dispatch');
    const free = d!.workerId === 'w1' ? 'w2' : 'w1';
    expect(c.pickForOneShot('m', 1)).toEqual({ ok: true, workerId: free });
    ofType(c.onRequestArrived(makeRequest('busy2', { text: 'other' }), 1), 'dispatch');
    expect(c.pickForOneShot('m', 2).ok).toBe(true); // both full: still served, least loaded
    c.onWorkerStatus(makeStatus('w1', { draining: true }), 3);
    c.onWorkerStatus(makeStatus('w2', { healthy: false }), 3);
    expect(c.pickForOneShot('m', 4)).toEqual({ ok: false, code: 'no_healthy_worker' });
    expect(c.pickForOneShot('nope', 4)).toEqual({ ok: false, code: 'model_not_found' });
  });
});
