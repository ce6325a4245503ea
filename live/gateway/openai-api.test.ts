// The official `openai` client, unchanged, against the gateway with echo workers behind it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startHarness, type Harness } from './test-harness.js';

describe('OpenAI-compatible API through the official client', () => {
  let h: Harness;
  let client: OpenAI;
  beforeAll(async () => {
    h = await startHarness({ workers: [{}, {}] });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => h.close());

  it('answers a non-streaming chat completion with usage', async () => {
    const r = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one two three' }], max_tokens: 2, temperature: 0 });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]!.message).toEqual({ role: 'assistant', content: 'one two' });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('streams a chat completion over SSE, with usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'echo', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'alpha beta' }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('be brief alpha beta');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4 });
  });

  it('answers text completions, streamed and not', async () => {
    const r = await client.completions.create({ model: 'echo', prompt: 'the quick brown fox', max_tokens: 3 });
    expect(r.choices[0]!.text).toBe('the quick brown');
    expect(r.usage?.completion_tokens).toBe(3);
    const s = await client.completions.create({ model: 'echo', prompt: 'lazy dog jumps', stream: true });
    let text = '';
    for await (const c of s) text += c.choices[0]?.text ?? '';
    expect(text).toBe('lazy dog jumps');
  });

  it('lists models', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['echo']);
  });

  it('returns embeddings (base64 by default in the client, and float)', async () => {
    const r = await client.embeddings.create({ model: 'echo', input: ['hello world', 'bye'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding).toHaveLength(8);
    const norm = Math.hypot(...r.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 4);
    const f = await client.embeddings.create({ model: 'echo', input: 'hello world', encoding_format: 'float' });
    expect(f.data[0]!.embedding[0]).toBeCloseTo(r.data[0]!.embedding[0]!, 5);
    expect(f.usage.prompt_tokens).toBe(2);
  });

  it('maps core refusals to OpenAI errors the client understands', async () => {
    const err = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const bad = await client.embeddings.create({ model: 'nope', input: 'x' }).catch((e: unknown) => e);
    expect((bad as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
  });

  it('reports usage on answers served from the cache', async () => {
    const body = { model: 'echo', messages: [{ role: 'user' as const, content: 'cache me please' }], temperature: 0 };
    const first = await client.chat.completions.create(body);
    const second = await client.chat.completions.create(body);
    expect(second.choices[0]!.message.content).toBe('cache me please');
    expect(second.usage).toEqual(first.usage);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(text).toBe('cache me please');
    expect(usage).toEqual(first.usage);
  });
});
