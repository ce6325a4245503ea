// Models loaded on demand (config.catalog, model-loads.ts): where a model no worker holds is placed,
// and through the gateway core: one loadModel for the requests waiting on it, dispatch once a status
// lists the model, model_load_failed when the load fails, 404 for a model neither held nor catalogued.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfigError } from '../config/config-error.js';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from './gateway-core.js';
import { isTerminal, type Command, type WorkerOutput } from './messages.js';
import { ModelLoads, placeModel, type PlacementCandidate } from './model-loads.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

const GiB = 1024 ** 3;
const cand = (id: string, over: Partial<PlacementCandidate> = {}): PlacementCandidate => ({ id, healthy: true, draining: false, breakerAllows: true, inFlight: 0, memoryFreeBytes: undefined, ...over });

describe('placeModel', () => {
  it('among the workers with room for the model, takes the least loaded', () => {
    // 10 GiB model: w1 has 8 GiB free (no room), w2 20 GiB with 3 in flight, w3 12 GiB with 1 in flight → w3.
    const ws = [cand('w1', { memoryFreeBytes: 8 * GiB }), cand('w2', { memoryFreeBytes: 20 * GiB, inFlight: 3 }), cand('w3', { memoryFreeBytes: 12 * GiB, inFlight: 1 })];
    expect(placeModel(ws, 10 * GiB)).toBe('w3');
  });

  it('takes a worker with room even when a worker without room is idle', () => {
    const ws = [cand('w1', { memoryFreeBytes: 1 * GiB, inFlight: 0 }), cand('w2', { memoryFreeBytes: 10 * GiB, inFlight: 7 })];
    expect(placeModel(ws, 10 * GiB)).toBe('w2'); // exactly the model's size is enough
  });

  it('without a worker with room, takes the one with the most free; unknown counts as 0', () => {
    const ws = [cand('a', { memoryFreeBytes: undefined }), cand('b', { memoryFreeBytes: 3 * GiB, inFlight: 5 }), cand('c', { memoryFreeBytes: 2 * GiB })];
    expect(placeModel(ws, 40 * GiB)).toBe('b');
  });

  it('ties by load then id', () => {
    expect(placeModel([cand('w2'), cand('w1'), cand('w0', { inFlight: 1 })], 1)).toBe('w1');
    expect(placeModel([cand('w2', { memoryFreeBytes: 5 }), cand('w1', { memoryFreeBytes: 5, inFlight: 2 })], 4)).toBe('w2');
  });

  it('skips unhealthy, draining and breaker-open workers; none left: undefined', () => {
    const ws = [cand('a', { healthy: false, memoryFreeBytes: 100 }), cand('b', { draining: true, memoryFreeBytes: 100 }), cand('c', { breakerAllows: false, memoryFreeBytes: 100 }), cand('d', { memoryFreeBytes: 1 })];
    expect(placeModel(ws, 50)).toBe('d');
    expect(placeModel(ws.slice(0, 3), 50)).toBeUndefined();
    expect(placeModel([], 50)).toBeUndefined();
  });
});

describe('ModelLoads', () => {
  it('tracks one load per model, per worker, and forgets a stale one', () => {
    const l = new ModelLoads(1000);
    l.start('big', 'w1', 100);
    l.start('small', 'w2', 100);
    expect(l.loadingOn('big', 1100)).toBe('w1');
    expect(l.modelsOn('w2')).toEqual(['small']);
    l.end('small');
    expect(l.models()).toEqual(['big']);
    expect(l.loadingOn('big', 1101)).toBeUndefined();
    expect(l.size).toBe(0);
  });
});

describe('catalog config', () => {
  it('defaults to empty and validates each entry, naming the field', () => {
    expect(resolveGatewayConfig({}).catalog).toEqual({});
    expect(resolveGatewayConfig({ catalog: { big: { path: '/models/big', bytes: 40 * GiB } } }).catalog).toEqual({ big: { path: '/models/big', bytes: 40 * GiB } });
    const field = (input: unknown) => {
      try {
        resolveGatewayConfig(input);
      } catch (e) {
        return (e as ConfigError).field;
      }
      return 'accepted';
    };
    expect(field({ catalog: { big: { path: '', bytes: 1 } } })).toBe('catalog.big.path');
    expect(field({ catalog: { big: { path: '/p', bytes: -1 } } })).toBe('catalog.big.bytes');
    expect(field({ catalog: { big: { path: '/p', bytes: 1.5 } } })).toBe('catalog.big.bytes');
    expect(field({ catalog: { big: { path: '/p' } } })).toBe('catalog.big.bytes');
    expect(field({ catalog: { big: { path: '/p', bytes: 1, size: 2 } } })).toBe('catalog.big.size');
    expect(field({ catalog: { big: 'x' } })).toBe('catalog.big');
    expect(field({ catalog: [] })).toBe('catalog');
  });
});

function core(): GatewayCore {
  const c = new GatewayCore(resolveGatewayConfig({
    batching: { type: 'none' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } },
    admission: { queueTimeoutMs: 5000 },
    catalog: { big: { path: '/models/big', bytes: 10 * GiB } },
  }), testRng(1));
  c.onWorkerStatus(makeStatus('w1', { models: ['small'], memoryFreeBytes: 4 * GiB }), 0);
  c.onWorkerStatus(makeStatus('w2', { models: ['small'], memoryFreeBytes: 16 * GiB }), 0);
  return c;
}

const of = <T extends Command['type']>(cmds: Command[], type: T) => cmds.filter((c): c is Extract<Command, { type: T }> => c.type === type);

describe('gateway core: a catalogued model no worker holds', () => {
  it('is loaded once on the worker with room; its requests wait and are dispatched there when its status lists it', () => {
    const c = core();
    const first = c.onRequestArrived(makeRequest('r1', { model: 'big' }), 10);
    expect(of(first, 'loadModel')).toEqual([{ type: 'loadModel', workerId: 'w2', model: 'big', path: '/models/big', bytes: 10 * GiB }]);
    expect(of(first, 'reject')).toEqual([]);
    const second = c.onRequestArrived(makeRequest('r2', { model: 'big' }), 20);
    expect(of(second, 'loadModel')).toEqual([]); // the same load
    expect(c.activeByPhase().queued).toBe(2);
    // A status without the model yet: still waiting.
    expect(of(c.onWorkerStatus(makeStatus('w2', { models: ['small'], memoryFreeBytes: 16 * GiB }), 500), 'dispatch')).toEqual([]);
    const loaded = c.onWorkerStatus(makeStatus('w2', { models: ['small', 'big'], memoryFreeBytes: 6 * GiB }), 900);
    expect(of(loaded, 'dispatch').flatMap((d) => d.requests.map((r) => `${d.workerId}:${r.id}`))).toEqual(['w2:r1', 'w2:r2']);
    // Held now: the next request goes straight to it, no load.
    const third = c.onRequestArrived(makeRequest('r3', { model: 'big' }), 1000);
    expect(of(third, 'loadModel')).toEqual([]);
    expect(of(third, 'dispatch')[0]?.workerId).toBe('w2');
  });

  it('a failed load fails the waiting requests with model_load_failed and the worker\'s reason; the next request asks anew', () => {
    const c = core();
    c.onRequestArrived(makeRequest('r1', { model: 'big' }), 10);
    c.onRequestArrived(makeRequest('r2', { model: 'big' }), 20);
    expect(c.handle({ type: 'modelLoadFailed', workerId: 'w1', model: 'big', message: 'x' }, 30)).toEqual([]); // not the worker loading it
    const failed = of(c.handle({ type: 'modelLoadFailed', workerId: 'w2', model: 'big', message: 'out of memory' }, 40), 'reject');
    expect(failed.map((r) => [r.requestId, r.status, r.code])).toEqual([['r1', 503, 'model_load_failed'], ['r2', 503, 'model_load_failed']]);
    expect(failed[0]!.message).toBe('loading big on w2 failed: out of memory');
    expect(c.activeCount()).toBe(0);
    expect(of(c.onRequestArrived(makeRequest('r3', { model: 'big' }), 50), 'loadModel')).toHaveLength(1);
  });

  it('the loading worker leaving fails the load', () => {
    const c = core();
    c.onRequestArrived(makeRequest('r1', { model: 'big' }), 10);
    const out = of(c.onWorkerRemoved('w2', 20), 'reject');
    expect(out.map((r) => [r.requestId, r.code, r.message])).toEqual([['r1', 'model_load_failed', 'worker w2 left while loading big']]);
  });

  it('waits no longer than the queue timeout; a load never seen to finish is asked for again after it', () => {
    const c = core();
    c.onRequestArrived(makeRequest('r1', { model: 'big' }), 0);
    expect(of(c.onTimer(5000), 'reject').map((r) => [r.requestId, r.code])).toEqual([['r1', 'queue_timeout']]);
    expect(of(c.onRequestArrived(makeRequest('r2', { model: 'big' }), 5001), 'loadModel')).toHaveLength(1);
  });

  it('is refused with no_healthy_worker when no worker can load it; a model neither held nor catalogued is model_not_found', () => {
    const c = core();
    expect(of(c.onRequestArrived(makeRequest('u1', { model: 'nope' }), 10), 'reject')[0]).toMatchObject({ status: 404, code: 'model_not_found' });
    c.drain('w1', 10);
    c.drain('w2', 10);
    const out = c.onRequestArrived(makeRequest('r1', { model: 'big' }), 20);
    expect(of(out, 'loadModel')).toEqual([]);
    expect(of(out, 'reject')[0]).toMatchObject({ status: 503, code: 'no_healthy_worker' });
  });
});

// ───────────────── model test: loads under random event sequences ─────────────────

type LoadAction =
  | { a: 'arrive'; model: 'm' | 'big' | 'nope'; text: number }
  | { a: 'done' | 'error'; pick: number }
  | { a: 'loaded' | 'unloaded'; worker: number }
  | { a: 'loadFailed'; worker: number }
  | { a: 'remove'; worker: number }
  | { a: 'advance'; ms: number };

const loadActionArb: fc.Arbitrary<LoadAction> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ a: fc.constant('arrive' as const), model: fc.constantFrom('m' as const, 'big' as const, 'nope' as const), text: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 6, arbitrary: fc.record({ a: fc.constantFrom('done' as const, 'error' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constantFrom('loaded' as const, 'unloaded' as const, 'loadFailed' as const, 'remove' as const), worker: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ a: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 8000 }) }) },
);

const doneOutput: WorkerOutput = { promptTokens: 16, completionTokens: 4, finishReason: 'stop' };

describe('gateway core: on-demand loads, model test', () => {
  it('every request ends exactly once; a model is asked for once while its load is under way; big runs only where a status lists it', () => {
    const QUEUE_TIMEOUT_MS = 5000;
    fc.assert(
      fc.property(fc.array(loadActionArb, { minLength: 20, maxLength: 120 }), fc.integer(), fc.constantFrom('none', 'micro'), (actions, seed, batching) => {
        const c = new GatewayCore(resolveGatewayConfig({
          batching: { type: batching }, admission: { queueTimeoutMs: QUEUE_TIMEOUT_MS, maxConcurrentPerWorker: 2 }, retry: { baseDelayMs: 1, capDelayMs: 1 },
          catalog: { big: { path: '/big', bytes: 100 } },
        }), testRng(seed));
        let now = 0;
        let next = 0;
        const models = new Map<string, Set<string>>(); // worker → models its last status listed
        const arrived = new Set<string>();
        const terminal = new Set<string>();
        const running = new Map<string, string>();
        let pending: { model: string; worker: string; sinceMs: number } | undefined;
        const status = (w: string) => c.onWorkerStatus(makeStatus(w, { models: [...models.get(w)!], memoryFreeBytes: Number(w.slice(1)) * 60 }), now);
        const run = (cmds: Command[]) => {
          for (const cmd of cmds) {
            if (isTerminal(cmd)) {
              expect(arrived.has(cmd.requestId) && !terminal.has(cmd.requestId), `terminal for ${cmd.requestId}`).toBe(true);
              terminal.add(cmd.requestId);
            } else if (cmd.type === 'dispatch') {
              for (const r of cmd.requests) {
                expect(models.get(cmd.workerId)?.has(r.model), `${r.model} dispatched to ${cmd.workerId}, which does not list it`).toBe(true);
                running.set(r.id, cmd.workerId);
              }
            } else if (cmd.type === 'cancel') {
              running.delete(cmd.requestId);
            } else if (cmd.type === 'loadModel') {
              expect(cmd.model).toBe('big');
              expect(pending === undefined || now - pending.sinceMs > QUEUE_TIMEOUT_MS, `second load of big at ${now} while one from ${pending?.sinceMs} is under way`).toBe(true);
              expect(models.get(cmd.workerId), `load on unknown ${cmd.workerId}`).toBeDefined();
              pending = { model: cmd.model, worker: cmd.workerId, sinceMs: now };
            }
          }
        };
        for (const w of ['w0', 'w1', 'w2']) {
          models.set(w, new Set(['m']));
          run(status(w));
        }
        for (const act of actions) {
          const w = 'worker' in act ? `w${act.worker}` : '';
          switch (act.a) {
            case 'arrive': {
              const id = `r${next++}`;
              arrived.add(id);
              run(c.onRequestArrived(makeRequest(id, { model: act.model, text: `p${act.text}` }), now));
              break;
            }
            case 'done':
            case 'error': {
              const jobs = [...running];
              if (jobs.length === 0) break;
              const [job, worker] = jobs[act.pick % jobs.length]!;
              running.delete(job);
              run(c.onWorkerEvent(act.a === 'done' ? { kind: 'done', workerId: worker, requestId: job, output: doneOutput } : { kind: 'error', workerId: worker, requestId: job, failure: { code: 'x', message: 'x' } }, now));
              break;
            }
            case 'loaded':
            case 'unloaded':
              if (!models.has(w)) break;
              if (act.a === 'loaded') models.get(w)!.add('big');
              else models.get(w)!.delete('big');
              if (act.a === 'loaded') pending = undefined;
              run(status(w));
              break;
            case 'loadFailed':
              if (pending?.worker === w) pending = undefined;
              run(c.handle({ type: 'modelLoadFailed', workerId: w, model: 'big', message: 'no room' }, now));
              break;
            case 'remove':
              if (!models.has(w)) break;
              models.delete(w);
              if (pending?.worker === w) pending = undefined;
              for (const [job, worker] of [...running]) if (worker === w) running.delete(job);
              run(c.onWorkerRemoved(w, now));
              break;
            case 'advance':
              now += act.ms;
              run(c.onTimer(now));
          }
        }
        // Every request ends: jobs finish, loads stop being answered, and the queue timeout does the rest.
        for (let round = 0; round < 100 && c.activeCount() > 0; round++) {
          for (const [job, worker] of [...running]) {
            running.delete(job);
            run(c.onWorkerEvent({ kind: 'done', workerId: worker, requestId: job, output: doneOutput }, now));
          }
          now += 3000;
          run(c.onTimer(now));
        }
        expect(c.activeCount()).toBe(0);
        expect(terminal.size).toBe(arrived.size);
        expect(c.outcomes.finished()).toBe(c.outcomes.arrived);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });
});
