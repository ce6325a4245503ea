// The driver alone: a manual clock, a fake transport, recording sinks. It must only translate.
import { describe, expect, it } from 'vitest';
import { GatewayCore, resolveGatewayConfig, type InferenceRequest, type TerminalCommand, type TokenLogprob } from '../../core/index.js';
import { makeRequest, makeStatus, testRng } from '../../core/gateway/test-support.js';
import type { Clock } from '../shared/clock.js';
import { CoreDriver, type RequestSink, type WorkerTransport } from './core-driver.js';

class ManualClock implements Clock {
  t = 1000;
  nowMs(): number {
    return this.t;
  }
  wallMs(): number {
    return 1_700_000_000_000 + this.t;
  }
}

class RecordingSink implements RequestSink {
  readonly traceId = 'trace';
  readonly deadlineUnixMs = 0;
  text = '';
  count = 0;
  logprobs: TokenLogprob[] = [];
  ended: TerminalCommand | undefined;
  tokens(text: string, count: number, logprobs?: readonly TokenLogprob[]): void {
    this.text += text;
    this.count += count;
    this.logprobs.push(...(logprobs ?? []));
  }
  workerDone(): void {}
  finish(cmd: TerminalCommand): void {
    this.ended = cmd;
  }
}

function setup(core: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const sent: { workerId: string; ids: string[] }[] = [];
  const cancels: string[] = [];
  const transport: WorkerTransport = {
    dispatch: (workerId, requests: readonly InferenceRequest[]) => void sent.push({ workerId, ids: requests.map((r) => r.id) }),
    cancel: (_w, id) => void cancels.push(id),
  };
  const driver = new CoreDriver(new GatewayCore(resolveGatewayConfig(core), testRng(1)), clock, transport);
  driver.workerStatus(makeStatus('w1'));
  return { clock, sent, cancels, driver };
}

describe('CoreDriver', () => {
  it('runs the batching window on its one real timer and dispatches when it is due', async () => {
    const { sent, driver, clock } = setup({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 8, dispatchWhenIdle: false } });
    driver.arrive(makeRequest('a', { sampling: { temperature: 1 } }), new RecordingSink());
    driver.arrive(makeRequest('b', { sampling: { temperature: 1 } }), new RecordingSink());
    expect(sent).toEqual([]);
    clock.t += 2;
    await new Promise((r) => setTimeout(r, 5));
    expect(sent).toEqual([]); // the manual clock says 2 ms: not due, the driver re-arms
    clock.t += 3;
    await new Promise((r) => setTimeout(r, 5));
    expect(sent).toEqual([{ workerId: 'w1', ids: ['a', 'b'] }]);
    driver.stop();
  });

  it('dispatches at once when nothing of the model awaits an answer (dispatchWhenIdle), and the answer releases what waits', () => {
    const { sent, driver } = setup({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 8 } });
    driver.arrive(makeRequest('a', { sampling: { temperature: 1 } }), new RecordingSink());
    expect(sent).toEqual([{ workerId: 'w1', ids: ['a'] }]);
    driver.arrive(makeRequest('b', { sampling: { temperature: 1 } }), new RecordingSink());
    driver.arrive(makeRequest('c', { sampling: { temperature: 1 } }), new RecordingSink());
    expect(sent).toHaveLength(1); // a is unanswered: b and c wait
    driver.workerEvent({ kind: 'done', workerId: 'w1', requestId: 'a', output: { finishReason: 'stop', promptTokens: 1, completionTokens: 1 } });
    expect(sent).toEqual([{ workerId: 'w1', ids: ['a'] }, { workerId: 'w1', ids: ['b', 'c'] }]);
    driver.stop();
  });

  it('replays a job’s output so far to a follower, and completes both', () => {
    const { sent, driver } = setup({ batching: { type: 'none' } });
    const leader = new RecordingSink();
    const follower = new RecordingSink();
    driver.arrive(makeRequest('a', { text: 'same' }), leader);
    expect(sent).toHaveLength(1);
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 2, text: 'hello world' });
    driver.arrive(makeRequest('b', { text: 'same' }), follower);
    expect(follower.text).toBe('hello world');
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 1, text: '!' });
    driver.workerEvent({ kind: 'done', workerId: 'w1', requestId: 'a', output: { finishReason: 'stop', promptTokens: 1, completionTokens: 3 } });
    expect(leader.text).toBe('hello world!');
    expect(follower.text).toBe('hello world!');
    expect(leader.ended?.type).toBe('complete');
    expect(follower.ended).toMatchObject({ type: 'complete', via: 'coalesced' });
    expect(driver.coalescedGroups).toBe(1);
    // The finished text went into the cache: a third identical request is served from it.
    const third = new RecordingSink();
    driver.arrive(makeRequest('c', { text: 'same' }), third);
    expect(third.ended).toMatchObject({ type: 'serveFromCache', answer: { text: 'hello world!' } });
    driver.stop();
  });

  it('replays log-probabilities to a follower and keeps them with the cached answer (issue 17)', () => {
    const { driver } = setup({ batching: { type: 'none' } });
    const lp = (token: string, logprob: number): TokenLogprob => ({ token, bytes: [...Buffer.from(token)], logprob, topLogprobs: [{ token, bytes: [...Buffer.from(token)], logprob }] });
    const leader = new RecordingSink();
    const follower = new RecordingSink();
    const req = (id: string) => makeRequest(id, { text: 'same', sampling: { logprobs: 1 } });
    driver.arrive(req('a'), leader);
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 2, text: 'hi yo', logprobs: [lp('hi', -0.5), lp(' yo', -1)] });
    driver.arrive(req('b'), follower);
    expect(follower.logprobs.map((l) => l.token)).toEqual(['hi', ' yo']);
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 1, text: '!', logprobs: [lp('!', -2)] });
    driver.workerEvent({ kind: 'done', workerId: 'w1', requestId: 'a', output: { finishReason: 'stop', promptTokens: 1, completionTokens: 3 } });
    expect(follower.logprobs).toEqual(leader.logprobs);
    expect(leader.logprobs.map((l) => l.logprob)).toEqual([-0.5, -1, -2]);
    const third = new RecordingSink();
    driver.arrive(req('c'), third);
    expect(third.ended).toMatchObject({ type: 'serveFromCache', answer: { text: 'hi yo!', logprobs: leader.logprobs } });
    // the same prompt without logprobs has another fingerprint: it goes to the worker
    const plain = new RecordingSink();
    driver.arrive(makeRequest('d', { text: 'same' }), plain);
    expect(plain.ended).toBeUndefined();
    driver.stop();
  });

  it('ignores events of a stale attempt and turns a cancel into a worker Cancel', () => {
    const { cancels, driver } = setup({ batching: { type: 'none' } });
    const s = new RecordingSink();
    driver.arrive(makeRequest('a', { sampling: { temperature: 1 } }), s);
    driver.workerEvent({ kind: 'tokens', workerId: 'w-other', requestId: 'a', tokens: 1, text: 'stale' });
    expect(s.text).toBe('');
    driver.cancel('a');
    expect(cancels).toEqual(['a']);
    expect(s.ended).toMatchObject({ type: 'fail', code: 'client_cancelled' });
    driver.cancel('a'); // twice: nothing
    expect(cancels).toEqual(['a']);
    driver.stop();
  });

  it('queues an event raised by a sink while commands run (no re-entry into the core)', () => {
    const { driver } = setup({ batching: { type: 'none' } });
    const s = new RecordingSink();
    s.tokens = () => driver.cancel('a'); // a slow client cancels itself on its first token
    driver.arrive(makeRequest('a', { sampling: { temperature: 1 } }), s);
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 1, text: 'x' });
    expect(s.ended).toMatchObject({ type: 'fail', code: 'client_cancelled' });
    driver.stop();
  });

  it('sleeps through a sub-millisecond-to-1 ms batching window instead of polling the event loop (issue 16)', async () => {
    // A real clock that counts its reads: the driver reads it once per timer callback, so polling
    // with setImmediate until the window is due reads it hundreds of times per millisecond.
    let reads = 0;
    const t0 = performance.now();
    const clock: Clock = { nowMs: () => (reads++, performance.now() - t0), wallMs: () => Date.now() };
    const sent: string[][] = [];
    const transport: WorkerTransport = { dispatch: (_w, requests) => void sent.push(requests.map((r) => r.id)), cancel: () => undefined };
    const driver = new CoreDriver(new GatewayCore(resolveGatewayConfig({ batching: { type: 'micro', windowMs: 0.9, maxBatchSize: 8, dispatchWhenIdle: false }, admission: { maxConcurrentPerWorker: 100 } }), testRng(1)), clock, transport);
    driver.workerStatus(makeStatus('w1', { maxConcurrent: 100 }));
    for (let i = 0; i < 20; i++) {
      const before = performance.now();
      driver.arrive(makeRequest(`r${i}`, { sampling: { temperature: 1 } }), new RecordingSink());
      for (let n = 0; n < 200 && sent.length <= i; n++) await new Promise((r) => setTimeout(r, 1));
      expect(performance.now() - before).toBeGreaterThanOrEqual(0.9); // never dispatched early
    }
    expect(sent).toHaveLength(20);
    expect(reads / 20).toBeLessThan(20);
  });
});
