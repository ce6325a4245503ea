// The worker node's config: model ids (a canaried model's version is served as `<name>@<version>`, core/canary/), modelMemoryBytes.
import { describe, expect, it } from 'vitest';
import { resolveWorkerConfig } from './config.js';

describe('worker config: model ids', () => {
  it('accepts a version id (llama@v2) and names the field of a bad one', () => {
    expect(resolveWorkerConfig({ id: 'w1', models: [{ id: 'llama@v2', path: '/m' }] }).models.map((m) => m.id)).toEqual(['llama@v2']);
    expect(() => resolveWorkerConfig({ id: 'w1', models: [{ id: 'llama v2', path: '/m' }] })).toThrow(/models\[\]\.id/);
  });
});

describe('worker config: modelMemoryBytes (memory_free_bytes in Stats, issue 19)', () => {
  it('is unset by default, accepts an integer > 0 and names the field of a bad one', () => {
    expect(resolveWorkerConfig({ id: 'w1' }).modelMemoryBytes).toBeUndefined();
    expect(resolveWorkerConfig({ id: 'w1', modelMemoryBytes: 64 * 2 ** 30 }).modelMemoryBytes).toBe(64 * 2 ** 30);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => resolveWorkerConfig({ id: 'w1', modelMemoryBytes: bad })).toThrow(/modelMemoryBytes/);
  });
});
