// The direct-engine baseline is mlx_lm.server 0.32.2 with its defaults (mlx-lm-server.ts cites the
// source of each figure). Each behaviour below is checked on the simulated worker configured as the
// scenarios configure the baseline (scenarios/sim-run.ts workerLoop).
import { describe, expect, it } from 'vitest';
import { MLX_LM_SERVER } from './mlx-lm-server.js';
import { latency, req, run } from './worker-harness.js';
import type { WorkerConfig } from './worker.js';

const server: Partial<WorkerConfig> = {
  maxSequences: MLX_LM_SERVER.decodeConcurrency,
  prefillStepTokens: MLX_LM_SERVER.prefillStepTokens,
  prefillBatchSize: MLX_LM_SERVER.promptConcurrency,
  prefixCacheSessions: MLX_LM_SERVER.promptCacheEntries,
};

describe('mlx_lm.server baseline (mlx-lm 0.32.2)', () => {
  it('prefills in chunks of --prefill-step-size 2048 (PromptProcessingBatch.prompt), the last token left for generation', () => {
    const r = run(server, [{ atMs: 0, input: req('long', 5000, 2) }]);
    expect(r.steps.filter((s) => s.prefillTokens > 0).map((s) => s.prefillTokens)).toEqual([2048, 2048, 903]);
  });

  it('prefills at most --prompt-concurrency 8 prompts at once (BatchGenerator._next: n = min(prefill_batch_size − len(prompt batch), …))', () => {
    const r = run(server, Array.from({ length: 12 }, (_, i) => ({ atMs: 0, input: req(`p${i}`, 3000, 2) })));
    expect(Math.max(...r.steps.map((s) => s.prefilling))).toBe(8);
  });

  it('decodes at most --decode-concurrency 32 sequences (completion_batch_size; early return when the generation batch is full)', () => {
    const r = run(server, Array.from({ length: 40 }, (_, i) => ({ atMs: 0, input: req(`d${i}`, 20, 50) })));
    expect(Math.max(...r.steps.map((s) => s.batch))).toBe(32);
  });

  it('runs a forward pass of its own for sequences joining the decode batch (GenerationBatch.__init__ calls _step())', () => {
    const r = run(server, [{ atMs: 0, input: req('a', 100, 2) }]);
    // one chunk of 99 tokens, then the join step: the last token's own forward pass gives the first token
    const t1 = latency.requestOverheadMs + latency.prefillMs(100, 0) + latency.decodeStepMs(1, 100);
    expect(r.first.get('a')!.firstTokenMs).toBeCloseTo(t1, 9);
  });

  it('keeps --prompt-cache-size 10 KV caches (LRUPromptCache): an 11th conversation evicts the oldest', () => {
    const turn = (id: string, session: string, atMs: number) => ({ atMs, input: req(id, 640, 4, { sessionId: session, prefixBlocks: [session.length, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((b, i) => b * 100 + i + Number(session.slice(1)) * 1000) }) });
    const first = Array.from({ length: 11 }, (_, i) => turn(`t${i}`, `s${i}`, i * 2000));
    const r = run(server, [...first, turn('again0', 's0', 40_000), turn('again10', 's10', 42_000)]);
    expect(r.worker.prefixCache.size).toBe(10);
    expect(r.worker.prefixCache.hits).toBe(1); // s10 is still cached, s0 was evicted by the 11th session
  });
});
