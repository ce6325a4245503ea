// Versions and canaries through the gateway core (config canary, core/canary/): the version chosen is
// the model id dispatched, outcomes on its workers feed the verdict, a rollback is a command.
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from './gateway-core.js';
import type { Command, WorkerOutput } from './messages.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

const output: WorkerOutput = { promptTokens: 16, completionTokens: 8, finishReason: 'length', text: 'ok' };

function core(weights: [number, number], attemptsMax = 1): GatewayCore {
  const c = new GatewayCore(resolveGatewayConfig({
    batching: { type: 'none' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } },
    retry: { attemptsMax, baseDelayMs: 10, capDelayMs: 10 }, admission: { maxConcurrentPerWorker: 2000 },
    canary: { minRequests: 10, evaluateEveryMs: 1, models: { llama: { stable: 'v1', versions: [{ version: 'v1', weight: weights[0] }, { version: 'v2', weight: weights[1] }] } } },
  }), testRng(1));
  c.onWorkerStatus(makeStatus('w1', { models: ['llama@v1'], maxConcurrent: 1000 }), 0);
  c.onWorkerStatus(makeStatus('w2', { models: ['llama@v2'], maxConcurrent: 1000 }), 0);
  return c;
}

const dispatches = (cmds: Command[]) => cmds.flatMap((c) => (c.type === 'dispatch' ? c.requests.map((r) => ({ id: r.id, model: r.model, worker: c.workerId })) : []));

describe('gateway core: versions and canaries', () => {
  it('dispatches each request as the version chosen, on that version\'s workers, by weight', () => {
    const c = core([80, 20]);
    const byWorker = { w1: 0, w2: 0 } as Record<string, number>;
    for (let i = 0; i < 1000; i++) {
      for (const d of dispatches(c.onRequestArrived(makeRequest(`r${i}`, { model: 'llama' }), 1))) {
        expect(d.model).toBe(d.worker === 'w1' ? 'llama@v1' : 'llama@v2');
        byWorker[d.worker]!++;
      }
    }
    expect(byWorker.w1! + byWorker.w2!).toBe(1000);
    expect(byWorker.w2).toBeGreaterThan(160);
    expect(byWorker.w2).toBeLessThan(240);
  });

  it('keeps a session on its version', () => {
    const c = core([50, 50]);
    for (let s = 0; s < 20; s++) {
      const models = new Set<string>();
      for (let i = 0; i < 5; i++) for (const d of dispatches(c.onRequestArrived(makeRequest(`s${s}-${i}`, { model: 'llama', sessionId: `sess-${s}` }), 1))) models.add(d.model);
      expect(models.size).toBe(1);
    }
  });

  it('rolls back a canary failing where the stable version does not: a command, weight 0, no more traffic to it', () => {
    const c = core([50, 50]);
    const rollbacks: Command[] = [];
    let t = 10;
    for (let i = 0; i < 60 && rollbacks.length === 0; i++) {
      for (const d of dispatches(c.onRequestArrived(makeRequest(`r${i}`, { model: 'llama' }), t))) {
        t += 10;
        const ev = d.worker === 'w1'
          ? { kind: 'done' as const, workerId: d.worker, requestId: d.id, output }
          : { kind: 'error' as const, workerId: d.worker, requestId: d.id, failure: { code: 'runtime_error', message: 'bad weights' } };
        rollbacks.push(...c.onWorkerEvent(ev, t).filter((x) => x.type === 'canaryRolledBack'));
      }
    }
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ type: 'canaryRolledBack', model: 'llama', version: 'v2', stable: 'v1', reason: 'error-rate' });
    expect(c.canaryStatus(t)[0]!.versions.find((v) => v.version === 'v2')).toMatchObject({ weight: 0, role: 'rolled-back' });
    for (let i = 0; i < 100; i++) for (const d of dispatches(c.onRequestArrived(makeRequest(`after${i}`, { model: 'llama' }), t + 1))) expect(d.worker).toBe('w1');
  });

  it('sends a canary\'s share to the other versions while none of its workers can take it (breaker open)', () => {
    const c = new GatewayCore(resolveGatewayConfig({
      batching: { type: 'none' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } },
      retry: { attemptsMax: 1 }, breaker: { volumeMin: 1, errorRateMax: 0.1 },
      canary: { minRequests: 1_000_000, models: { llama: { stable: 'v1', versions: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }] } } },
    }), testRng(1));
    c.onWorkerStatus(makeStatus('w1', { models: ['llama@v1'], maxConcurrent: 1000 }), 0);
    c.onWorkerStatus(makeStatus('w2', { models: ['llama@v2'], maxConcurrent: 1000 }), 0);
    let failedOnW2 = false;
    for (let i = 0; !failedOnW2; i++) {
      for (const d of dispatches(c.onRequestArrived(makeRequest(`r${i}`, { model: 'llama' }), 1))) {
        if (d.worker !== 'w2') continue;
        c.onWorkerEvent({ kind: 'error', workerId: 'w2', requestId: d.id, failure: { code: 'generation_failed', message: 'x' } }, 2);
        failedOnW2 = true;
      }
    }
    const out = Array.from({ length: 50 }, (_, i) => c.onRequestArrived(makeRequest(`b${i}`, { model: 'llama' }), 3)).flat();
    expect(out.filter((x) => x.type === 'reject')).toEqual([]);
    const sent = dispatches(out);
    expect(sent).toHaveLength(50); // none waits for v2's breaker
    expect(new Set(sent.map((d) => d.worker))).toEqual(new Set(['w1']));
  });

  it('retries a failed canary attempt on the stable version', () => {
    const c = core([0.001, 100], 3); // every request to v2
    const [d] = dispatches(c.onRequestArrived(makeRequest('r', { model: 'llama' }), 1));
    expect(d).toEqual({ id: 'r', model: 'llama@v2', worker: 'w2' });
    const failed = c.onWorkerEvent({ kind: 'error', workerId: 'w2', requestId: 'r', failure: { code: 'generation_failed', message: 'x' } }, 2);
    const wake = failed.find((x) => x.type === 'wakeAt');
    expect(wake).toBeDefined();
    const retried = dispatches(c.onTimer(wake!.type === 'wakeAt' ? wake!.atMs : 0));
    expect(retried).toEqual([{ id: 'r', model: 'llama@v1', worker: 'w1' }]);
    const done = c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: 'r', output }, 30);
    expect(done).toContainEqual(expect.objectContaining({ type: 'complete', requestId: 'r' }));
  });

  it('refuses a canaried name none of whose weighted versions has a worker (model_not_found)', () => {
    const c = core([100, 0]);
    c.onWorkerRemoved('w1', 5);
    const out = c.onRequestArrived(makeRequest('x', { model: 'llama' }), 6);
    expect(out).toContainEqual(expect.objectContaining({ type: 'reject', code: 'model_not_found' }));
  });

  it('without canary config nothing changes: the model routes as itself', () => {
    const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' } }), testRng(1));
    c.onWorkerStatus(makeStatus('w1', { models: ['llama'] }), 0);
    expect(dispatches(c.onRequestArrived(makeRequest('a', { model: 'llama' }), 1))).toEqual([{ id: 'a', model: 'llama', worker: 'w1' }]);
    expect(c.canaryStatus(1)).toEqual([]);
  });
});
