// The simulated worker reserves KV as the live node does: prompt + max_tokens (core/worker/kv-reservation.ts),
// not the output the workload knows it will generate; an engine that reserves nothing (kvReservation
// 'final-context', the direct mlx_lm.server baseline) holds prompt + its output.
import { describe, expect, it } from 'vitest';
import { CapacityAdmission } from './memory.js';
import { latency, req, run } from './worker-harness.js';

const capacity = (tokens: number) => new CapacityAdmission(tokens * latency.kvBytesPerToken);

describe('simulated worker KV reservation', () => {
  it('reserves prompt + max_tokens: a second request waits for the first although their outputs would fit together', () => {
    const r = run({ memory: capacity(150) }, [
      { atMs: 0, input: req('a', 10, 10, { maxTokens: 100 }) },
      { atMs: 0, input: req('b', 10, 10, { maxTokens: 100 }) },
    ]);
    const a = r.first.get('a')!;
    const b = r.first.get('b')!;
    expect(a.kvBytes).toBe(110 * latency.kvBytesPerToken);
    expect(b.admitMs).toBeGreaterThanOrEqual(a.endMs);
  });

  it("'final-context' holds prompt + output: both run together", () => {
    const r = run({ memory: capacity(150), kvReservation: 'final-context' }, [
      { atMs: 0, input: req('a', 10, 10, { maxTokens: 100 }) },
      { atMs: 0, input: req('b', 10, 10, { maxTokens: 100 }) },
    ]);
    expect(r.first.get('a')!.kvBytes).toBe(20 * latency.kvBytesPerToken);
    expect(r.first.get('b')!.admitMs).toBeLessThan(r.first.get('a')!.endMs);
  });

  it('refuses with kv_exceeds_capacity what would not fit even alone, counting max_tokens', () => {
    const r = run({ memory: capacity(50) }, [{ atMs: 0, input: req('a', 10, 10, { maxTokens: 100 }) }]);
    expect(r.first.has('a')).toBe(false);
    expect(r.errors.get('a')?.code).toBe('kv_exceeds_capacity');
  });

  it('refuses with context_length_exceeded when prompt + max_tokens exceed the context, as the runtime does', () => {
    const r = run({}, [{ atMs: 0, input: req('a', 10, 10, { maxTokens: latency.contextTokensMax }) }]);
    expect(r.errors.get('a')?.code).toBe('context_length_exceeded');
  });
});
