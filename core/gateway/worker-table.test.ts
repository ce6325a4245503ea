// The worker table's slots (WorkerView.slot): unique among present workers, departed ones reused lowest first.
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import { makeStatus } from './test-support.js';
import { WorkerTable } from './worker-table.js';

describe('WorkerTable slots', () => {
  it('gives each worker a distinct slot and reuses a departed worker\'s slot, lowest first', () => {
    const t = new WorkerTable(resolveGatewayConfig({}));
    for (const id of ['a', 'b', 'c', 'd']) t.applyStatus(makeStatus(id), 0);
    expect(['a', 'b', 'c', 'd'].map((id) => t.get(id)!.view.slot)).toEqual([0, 1, 2, 3]);
    t.remove('c');
    t.remove('b');
    t.remove('nobody');
    t.applyStatus(makeStatus('e'), 0);
    t.applyStatus(makeStatus('f'), 0);
    t.applyStatus(makeStatus('g'), 0);
    expect(['e', 'f', 'g'].map((id) => t.get(id)!.view.slot)).toEqual([1, 2, 4]);
    t.applyStatus(makeStatus('a'), 1); // a status from a present worker keeps its slot
    expect(t.get('a')!.view.slot).toBe(0);
  });
});
