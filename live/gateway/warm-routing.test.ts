// Warm-first routing through the real gateway with the official openai client: a worker that reports a
// model cold (WorkerStatus.cold_models: idle-unloaded, it would reload first) gets none of its requests
// while another holds it warm, and gets them again once it reports it warm.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startHarness, type Harness } from './test-harness.js';

describe('warm-first routing (live gateway, openai client)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: [{ coldModels: ['echo'] }, {}], core: { batching: { type: 'none' }, routing: { type: 'least-loaded' }, preferWarm: true } });
  });
  afterAll(() => h.close());

  const ask = async (n: number) => {
    const c = new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });
    await Promise.all(Array.from({ length: n }, (_, i) => c.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: `warm ${i} ${Math.random()}` }], max_tokens: 2 })));
  };

  it('sends nothing to the worker holding the model cold while another holds it warm', async () => {
    const [cold, warm] = h.workers as [Harness['workers'][0], Harness['workers'][0]];
    await ask(12);
    expect(cold.counters.requests).toBe(0);
    expect(warm.counters.requests).toBe(12);
  });

  it('routes to it again once it reports the model warm', async () => {
    const [cold] = h.workers as [Harness['workers'][0], Harness['workers'][0]];
    cold.coldModels = [];
    await new Promise((r) => setTimeout(r, 600)); // a few status polls (heartbeat 200 ms)
    await ask(12);
    expect(cold.counters.requests).toBeGreaterThan(0);
  });
});
