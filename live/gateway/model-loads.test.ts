// Models loaded on demand through the real gateway with the official openai client (core.catalog,
// echo workers holding only `small`): concurrent requests for a catalogued model no worker holds are
// all served after one LoadModel on one worker, later ones go straight to it; a failed load answers
// 503 model_load_failed with the worker's reason; a model neither held nor catalogued is a 404.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { ADMIN_KEY, API_KEY, startHarness, type Harness } from './test-harness.js';

const LOAD_MS = 300;

function harness(): Promise<Harness> {
  return startHarness({
    workers: [{ models: ['small'], loadDelayMs: LOAD_MS }, { models: ['small'], loadDelayMs: LOAD_MS }],
    core: { batching: { type: 'none' }, catalog: { big: { path: '/models/big', bytes: 1 }, huge: { path: '/models/huge', bytes: 2 } } },
  });
}

const client = (h: Harness) => new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });

async function chat(h: Harness, model: string, i: number): Promise<{ content: string; ms: number }> {
  const t0 = performance.now();
  const r = await client(h).chat.completions.create({ model, messages: [{ role: 'user', content: `question ${i} one two` }], max_tokens: 4 });
  expect(r.model).toBe(model);
  return { content: r.choices[0]!.message.content ?? '', ms: performance.now() - t0 };
}

describe('models loaded on demand (live gateway, openai client)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('serves concurrent requests for a catalogued model no worker holds after one load, then without one', async () => {
    h = await harness();
    const [w1, w2] = h.workers as [Harness['workers'][0], Harness['workers'][0]];
    expect((await client(h).models.list()).data.map((m) => m.id)).toEqual(['big', 'huge', 'small']);
    const first = await Promise.all([0, 1, 2, 3, 4].map((i) => chat(h!, 'big', i)));
    for (const [i, r] of first.entries()) {
      expect(r.content).toContain(`question ${i}`);
      expect(r.ms).toBeGreaterThanOrEqual(LOAD_MS - 5); // the load shows in the response time, not as an error
    }
    expect(w1.counters.loads + w2.counters.loads).toBe(1);
    const loader = w1.counters.loads === 1 ? w1 : w2;
    expect(loader).toBe(w1); // neither reports free memory, both idle: the first by id
    expect(loader.counters.requests).toBe(5);
    expect(await h.metric(METRIC.modelLoads, { model: 'big', worker: 'w1', result: 'loaded' })).toBe(1);
    const later = await chat(h, 'big', 9);
    expect(later.content).toContain('question 9');
    expect(w1.counters.loads + w2.counters.loads).toBe(1);
    expect(w1.counters.requests).toBe(6);
    // The router knows which worker holds it (GET /admin/workers: the core's view).
    const workers = (await (await h.fetch('/admin/workers', { key: ADMIN_KEY })).json()) as { workers: { id: string; status: { models: string[] } }[] };
    expect(workers.workers.map((w) => [w.id, [...w.status.models].sort()])).toEqual([['w1', ['big', 'small']], ['w2', ['small']]]);
  });

  it('loads on the worker reporting room for the model (memory_free_bytes), though another comes first by id', async () => {
    const GiB = 1024 ** 3;
    h = await startHarness({
      workers: [{ models: ['small'], memoryFreeBytes: 2 * GiB }, { models: ['small'], memoryFreeBytes: 24 * GiB }],
      core: { batching: { type: 'none' }, catalog: { big: { path: '/models/big', bytes: 16 * GiB } } },
    });
    const [w1, w2] = h.workers as [Harness['workers'][0], Harness['workers'][0]];
    await Promise.all([0, 1, 2].map((i) => chat(h!, 'big', i)));
    expect([w1.counters.loads, w2.counters.loads]).toEqual([0, 1]);
    expect(w2.counters.requests).toBe(3);
  });

  it('answers 503 model_load_failed with the worker\'s reason when the load fails, and 404 for a model neither held nor catalogued', async () => {
    h = await harness();
    for (const w of h.workers) w.failLoads = true;
    const errs = await Promise.all([0, 1].map((i) => chat(h!, 'huge', i).then(() => undefined, (e: unknown) => e)));
    for (const err of errs) {
      expect(err).toBeInstanceOf(OpenAI.APIError);
      const e = err as InstanceType<typeof OpenAI.APIError>;
      expect(e.status).toBe(503);
      expect(e.code).toBe('model_load_failed');
      expect(e.message).toContain('not enough memory to load huge');
    }
    expect(h.workers[0]!.counters.loads + h.workers[1]!.counters.loads).toBe(1);
    expect(await h.metric(METRIC.modelLoads, { model: 'huge', result: 'failed' })).toBe(1);
    const missing = await chat(h, 'nope', 0).then(() => undefined, (e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect(h.workers[0]!.counters.loads + h.workers[1]!.counters.loads).toBe(1);
  });
});
