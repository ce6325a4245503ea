// Warm state in routing (issue 19): a worker that holds a model unloaded (idle unload; it reports it in
// WorkerStatus.coldModels) gets that model's requests only when no worker holds it warm with half its slots free.
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from './gateway-core.js';
import type { Command } from './messages.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

const dispatchedTo = (cmds: Command[]) => cmds.flatMap((c) => (c.type === 'dispatch' ? [c.workerId] : []));

function core(preferWarm = true): GatewayCore {
  // least-loaded would alternate w1/w2; session affinity sends session s1 to one fixed worker.
  return new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, routing: { type: 'least-loaded' }, preferWarm }), testRng(1));
}

describe('warm-first routing', () => {
  it('sends a model\'s requests to the workers holding it warm while one holds it cold', () => {
    const c = core();
    c.onWorkerStatus(makeStatus('w1', { coldModels: ['m'], maxConcurrent: 16 }), 0);
    c.onWorkerStatus(makeStatus('w2', { maxConcurrent: 16 }), 0);
    const to = [1, 2, 3].flatMap((i) => dispatchedTo(c.onRequestArrived(makeRequest(`r${i}`, { text: `t${i}` }), i)));
    expect(to).toEqual(['w2', 'w2', 'w2']);
  });

  it('uses a cold worker when no worker holds the model warm, or the warm ones are half busy', () => {
    const c = core();
    c.onWorkerStatus(makeStatus('w1', { coldModels: ['m'], maxConcurrent: 4 }), 0);
    c.onWorkerStatus(makeStatus('w2', { maxConcurrent: 4 }), 0);
    const to = [1, 2, 3, 4].flatMap((i) => dispatchedTo(c.onRequestArrived(makeRequest(`r${i}`, { text: `t${i}` }), i)));
    // w2 takes requests until half its slots are busy; then least-loaded over both sends the next ones to w1
    expect(to).toEqual(['w2', 'w2', 'w1', 'w1']);
    const all = core();
    all.onWorkerStatus(makeStatus('w1', { coldModels: ['m'] }), 0);
    expect(dispatchedTo(all.onRequestArrived(makeRequest('x'), 1))).toEqual(['w1']);
  });

  it('off by default (preferWarm false): a cold worker is routed to like any other', () => {
    const c = core(false);
    c.onWorkerStatus(makeStatus('w1', { coldModels: ['m'], maxConcurrent: 16 }), 0);
    c.onWorkerStatus(makeStatus('w2', { maxConcurrent: 16 }), 0);
    const to = [1, 2, 3].flatMap((i) => dispatchedTo(c.onRequestArrived(makeRequest(`r${i}`, { text: `t${i}` }), i)));
    expect(to).toEqual(['w1', 'w2', 'w1']);
  });

  it('forgets a cold mark when the worker reports the model warm again', () => {
    const c = core();
    c.onWorkerStatus(makeStatus('w1', { coldModels: ['m'] }), 0);
    c.onWorkerStatus(makeStatus('w2', { coldModels: ['m'] }), 0);
    c.onWorkerStatus(makeStatus('w1'), 1); // reloaded
    const to = [1, 2].flatMap((i) => dispatchedTo(c.onRequestArrived(makeRequest(`r${i}`, { text: `t${i}` }), 1 + i)));
    expect(to).toEqual(['w1', 'w1']);
  });
});
