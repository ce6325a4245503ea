// usage.prompt_tokens_details.cached_tokens on the real path (official `openai` client → gateway → gRPC →
// worker node → python runtime, tiny model): a session's second turn reuses the first turn's KV from the
// runtime's prompt cache and says how many prompt tokens it did not compute; an answer served from the
// gateway's response cache computed none. The GPU runs (reports/reference/gpu/) read this figure to tell a
// prefix-cache hit from a miss, so it has to be the runtime's own count.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-cached-tokens-e2e-0001';
const SESSION = { 'x-session-id': 'cached-tokens-session-1' };
const NO_CACHE = { 'cache-control': 'no-cache' };

type Usage = OpenAI.Completions.CompletionUsage;

function cachedOf(u: Usage | undefined): number | undefined {
  return u?.prompt_tokens_details?.cached_tokens;
}

describe('cached prompt tokens in usage (python runtime, tiny model)', () => {
  let stack: TinyStack;

  beforeAll(async () => {
    stack = await startTinyStack('cached-tokens', API_KEY);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("a session's second turn reports the first turn's prompt as cached, streamed and not", async () => {
    const first = [{ role: 'user' as const, content: 'Describe a lighthouse keeper at dawn in a few words.' }];
    const t1 = await stack.openai.chat.completions.create({ model: 'tiny', messages: first, max_tokens: 8, temperature: 0 }, { headers: { ...SESSION, ...NO_CACHE } });
    expect(cachedOf(t1.usage)).toBe(0);
    const p1 = t1.usage!.prompt_tokens;

    const second = [...first, { role: 'assistant' as const, content: t1.choices[0]!.message.content ?? '' }, { role: 'user' as const, content: 'And at dusk?' }];
    const stream = await stack.openai.chat.completions.create(
      { model: 'tiny', messages: second, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } },
      { headers: { ...SESSION, ...NO_CACHE } },
    );
    let usage: Usage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toBeDefined();
    // the whole first prompt is a prefix of the second (the template renders the history the same way)
    expect(cachedOf(usage)).toBeGreaterThanOrEqual(p1 - 1);
    expect(cachedOf(usage)).toBeLessThan(usage!.prompt_tokens);

    const third = [...second, { role: 'assistant' as const, content: 'Quiet.' }, { role: 'user' as const, content: 'Thanks.' }];
    const t3 = await stack.openai.chat.completions.create({ model: 'tiny', messages: third, max_tokens: 4, temperature: 0 }, { headers: { ...SESSION, ...NO_CACHE } });
    expect(cachedOf(t3.usage)).toBeGreaterThan(p1);
  }, 60_000);

  it('a request without a session computes its whole prompt; its repeat from the response cache computes none', async () => {
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Name three harbour birds.' }], max_tokens: 6, temperature: 0 };
    const a = await stack.openai.chat.completions.create(body);
    expect(cachedOf(a.usage)).toBe(0);
    const b = await stack.openai.chat.completions.create(body);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(cachedOf(b.usage)).toBe(b.usage!.prompt_tokens);
  }, 60_000);

  it('the gateway counts the cached prompt tokens it reported', async () => {
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
    const line = text.split('\n').find((l) => l.startsWith('mlx_serving_cached_prompt_tokens_total '));
    expect(Number(line?.split(' ')[1])).toBeGreaterThan(0);
  });
});
