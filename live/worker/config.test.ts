// The worker node's model ids: a canaried model's version is served as `<name>@<version>` (core/canary/).
import { describe, expect, it } from 'vitest';
import { resolveWorkerConfig } from './config.js';

describe('worker config: model ids', () => {
  it('accepts a version id (llama@v2) and names the field of a bad one', () => {
    expect(resolveWorkerConfig({ id: 'w1', models: [{ id: 'llama@v2', path: '/m' }] }).models.map((m) => m.id)).toEqual(['llama@v2']);
    expect(() => resolveWorkerConfig({ id: 'w1', models: [{ id: 'llama v2', path: '/m' }] })).toThrow(/models\[\]\.id/);
  });
});
