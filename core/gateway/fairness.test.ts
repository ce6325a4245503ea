// Fairness between tenants in the gateway core's queues (config fairness, fair-queue.ts).
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import type { DeepPartial, GatewayConfig } from '../config/types.js';
import { GatewayCore } from './gateway-core.js';
import type { Command, WorkerOutput } from './messages.js';
import { makeRequest, makeStatus, testRng } from './test-support.js';

const output: WorkerOutput = { promptTokens: 16, completionTokens: 8, finishReason: 'length', text: 'ok' };

/** One worker taking one request at a time; tenant A queues a burst of 6, then tenant B one request. Returns the dispatch order. */
function order(fairness: DeepPartial<GatewayConfig['fairness']>, tenantB = 'B'): string[] {
  const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, admission: { maxConcurrentPerWorker: 1 }, fairness }), testRng(1));
  c.onWorkerStatus(makeStatus('w1', { maxConcurrent: 1 }), 0);
  const dispatched: string[] = [];
  const note = (cmds: Command[]) => {
    for (const cmd of cmds) if (cmd.type === 'dispatch') dispatched.push(...cmd.requests.map((r) => r.id));
  };
  for (let i = 0; i < 6; i++) note(c.onRequestArrived(makeRequest(`A${i}`, { text: `a${i}`, tenant: 'A' }), i));
  note(c.onRequestArrived(makeRequest('B0', { text: 'b0', tenant: tenantB }), 10));
  for (let t = 100; dispatched.length < 7; t += 100) note(c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: dispatched.at(-1)!, output }, t));
  return dispatched;
}

describe('gateway core: fairness between tenants', () => {
  it('off (the default): arrival order, the quiet tenant waits behind the burst', () => {
    expect(order({})).toEqual(['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'B0']);
  });

  it("on: the quiet tenant's request goes ahead of the burst's queue", () => {
    expect(order({ enabled: true }).indexOf('B0')).toBeLessThanOrEqual(2);
  });

  it('a tenant with no request of its own (the default tenant) is a flow like any other', () => {
    expect(order({ enabled: true }, '').indexOf('B0')).toBeLessThanOrEqual(2);
  });

  it('validates weights', () => {
    expect(() => resolveGatewayConfig({ fairness: { weights: { A: 0 } } })).toThrow(/fairness\.weights\.A/);
    expect(() => resolveGatewayConfig({ fairness: { weights: [] as unknown as Record<string, number> } })).toThrow(/fairness\.weights/);
    expect(() => resolveGatewayConfig({ fairness: { priority: 1 } as never })).toThrow(/fairness/);
    expect(resolveGatewayConfig({ fairness: { enabled: true, weights: { A: 3 } } }).fairness).toEqual({ enabled: true, weights: { A: 3 }, defaultWeight: 1 });
  });
});
