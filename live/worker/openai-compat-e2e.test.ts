// Issue 17 on the real path, with the official `openai` client: HTTP → gateway → gRPC → worker node →
// python runtime on the tiny model. GET /v1/models/{id}; logprobs and top_logprobs for chat and
// completions, streamed and not (the values themselves are checked against the model's log-softmax in
// python/tests/test_logprobs.py); the fingerprint keeping apart requests that differ only in them; a
// refusal of an unimplemented field. The echo-harness twin is live/gateway/openai-compat.test.ts.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-openai-compat-e2e-0001';
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

type ChatLogprob = OpenAI.Chat.Completions.ChatCompletionTokenLogprob;

function expectWellFormed(content: readonly ChatLogprob[], top: number): void {
  for (const e of content) {
    expect(e.logprob).toBeLessThanOrEqual(0);
    expect(Buffer.from(e.bytes!).toString('utf8').replace(/\uFFFD/g, '')).toBe(e.token.replace(/\uFFFD/g, ''));
    expect(e.top_logprobs).toHaveLength(top);
    const values = e.top_logprobs.map((c) => c.logprob);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    if (top > 0) {
      // greedy: the chosen token is the most likely one
      expect(e.top_logprobs[0]!.token).toBe(e.token);
      expect(e.top_logprobs[0]!.logprob).toBeCloseTo(e.logprob, 6);
    }
  }
}

describe('OpenAI compatibility (issue 17) end to end (python runtime, tiny model)', () => {
  let stack: TinyStack;
  let openai: OpenAI;

  beforeAll(async () => {
    stack = await startTinyStack('openai-compat', API_KEY);
    openai = stack.openai;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('retrieves the served model; an unknown id is a 404 model_not_found', async () => {
    expect(await openai.models.retrieve('tiny')).toEqual({ id: 'tiny', object: 'model', created: 0, owned_by: 'mlx-serving' });
    const err = await openai.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).param).toBeNull();
  });

  it('chat: logprobs with top_logprobs, the same streamed and not', async () => {
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Tell me about lanterns.' }], max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 5 };
    const r = await openai.chat.completions.create(body, NO_CACHE);
    const content = r.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(r.usage!.completion_tokens);
    expectWellFormed(content, 5);
    // a character split over byte tokens shows U+FFFD in each token's text; their bytes are exact
    expect(Buffer.from(content.flatMap((e) => e.bytes!)).toString('utf8')).toBe(r.choices[0]!.message.content);

    const stream = await openai.chat.completions.create({ ...body, stream: true }, NO_CACHE);
    const streamed: ChatLogprob[] = [];
    let text = '';
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    }
    expect(text).toBe(r.choices[0]!.message.content);
    expect(streamed.map((e) => e.token)).toEqual(content.map((e) => e.token));
    streamed.forEach((e, i) => expect(e.logprob).toBeCloseTo(content[i]!.logprob, 3));

    const plain = await openai.chat.completions.create({ ...body, logprobs: false, top_logprobs: undefined }, NO_CACHE);
    expect(plain.choices[0]!.logprobs).toBeNull();
    expect(plain.choices[0]!.message.content).toBe(r.choices[0]!.message.content);
  }, 60_000);

  it('completions: logprobs N, streamed and not', async () => {
    const body = { model: 'tiny', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logprobs: 3 };
    const r = await openai.completions.create(body, NO_CACHE);
    const lp = r.choices[0]!.logprobs!;
    if (!lp.tokens!.some((t) => t.includes('\uFFFD'))) expect(lp.tokens!.join('')).toBe(r.choices[0]!.text);
    expect(lp.token_logprobs).toHaveLength(lp.tokens!.length);
    expect(lp.text_offset![0]).toBe(0);
    lp.tokens!.forEach((t, i) => {
      const top = lp.top_logprobs![i]!;
      expect(Object.keys(top).length).toBeLessThanOrEqual(3);
      expect(top[t]).toBeCloseTo(lp.token_logprobs![i]!, 6); // greedy: the chosen token is among the top
      if (i > 0) expect(lp.text_offset![i]).toBe(lp.text_offset![i - 1]! + lp.tokens![i - 1]!.length);
    });
    const s = await openai.completions.create({ ...body, stream: true }, NO_CACHE);
    const tokens: string[] = [];
    for await (const c of s) tokens.push(...(c.choices[0]?.logprobs?.tokens ?? []));
    expect(tokens).toEqual(lp.tokens);
  }, 60_000);

  it('requests that differ only in logprobs do not share an answer; an identical one gets the logprobs back', async () => {
    const base = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Count the bells.' }], max_tokens: 6, temperature: 0 };
    const runtimeRequests = () => stack.worker.node.counters.requests;
    const before = runtimeRequests();
    const plain = await openai.chat.completions.create(base);
    expect(plain.choices[0]!.logprobs).toBeNull();
    const withLp = await openai.chat.completions.create({ ...base, logprobs: true });
    expect(withLp.choices[0]!.logprobs!.content).toHaveLength(withLp.usage!.completion_tokens);
    const withTop = await openai.chat.completions.create({ ...base, logprobs: true, top_logprobs: 2 });
    expect(withTop.choices[0]!.logprobs!.content![0]!.top_logprobs).toHaveLength(2);
    expect(runtimeRequests() - before).toBe(3);
    const again = await openai.chat.completions.create({ ...base, logprobs: true, top_logprobs: 2 });
    expect(runtimeRequests() - before).toBe(3); // served by dedupe / the response cache
    expect(again.choices[0]!.logprobs).toEqual(withTop.choices[0]!.logprobs);
  }, 60_000);

  it('refuses what it does not implement, by name', async () => {
    const err = await openai.chat.completions.create({
      model: 'tiny', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'custom', custom: { name: 'f' } }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools');
    const img = await openai.chat.completions.create({
      model: 'tiny', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
    }).catch((e: unknown) => e);
    expect(img).toBeInstanceOf(OpenAI.BadRequestError);
    expect((img as Error).message).toMatch(/no vision/);
    const range = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 25 }).catch((e: unknown) => e);
    expect((range as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('top_logprobs');
  });
});
