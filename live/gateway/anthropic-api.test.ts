// The Anthropic Messages API (POST /v1/messages) through the official `@anthropic-ai/sdk` client,
// unchanged, against the gateway with echo workers behind it (the echo answers the messages' words,
// one word per token, so a one-word user message that is a tool call comes back as that call).
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startHarness, type Harness, type JsonResponse } from './test-harness.js';

const WEATHER: Anthropic.Tool = {
  name: 'get_weather', description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const CALL = '{"name":"get_weather","arguments":{"city":"Oslo"}}';
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

async function refusal(p: Promise<unknown>): Promise<{ status: number | undefined; body: unknown }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Anthropic.APIError) return { status: err.status, body: err.error };
    throw err;
  }
  throw new Error('expected an error');
}

describe('Anthropic Messages API through the official client', () => {
  let h: Harness;
  let client: Anthropic;
  beforeAll(async () => {
    h = await startHarness();
    client = new Anthropic({ apiKey: API_KEY, baseURL: h.url, maxRetries: 0 });
  });
  afterAll(() => h.close());

  it('answers a message with text, usage and stop_reason (end_turn, max_tokens)', async () => {
    const r = await client.messages.create({ model: 'echo', max_tokens: 16, system: 'be brief', messages: [{ role: 'user', content: 'alpha beta' }] });
    expect(r).toMatchObject({ type: 'message', role: 'assistant', model: 'echo', stop_reason: 'end_turn', stop_sequence: null });
    expect(r.id).toMatch(/^msg_/);
    expect(r.content).toEqual([{ type: 'text', text: 'be brief alpha beta' }]);
    expect(r.usage).toMatchObject({ input_tokens: 4, output_tokens: 4 });
    const cut = await client.messages.create({ model: 'echo', max_tokens: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'one two three' }] }] });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.content).toEqual([{ type: 'text', text: 'one two' }]);
  });

  it('streams Anthropic events; the SDK accumulates the same message', async () => {
    const stream = client.messages.stream({ model: 'echo', max_tokens: 16, messages: [{ role: 'user', content: 'gamma delta epsilon' }] }, NO_CACHE);
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const m = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types).toContain('content_block_start');
    expect(types).toContain('content_block_delta');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(m.content).toEqual([expect.objectContaining({ type: 'text', text: 'gamma delta epsilon' })]);
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage).toMatchObject({ input_tokens: 3, output_tokens: 3 });
  });

  it('tools: a call comes back as a tool_use block (stop_reason tool_use), streamed and not', async () => {
    const body = { model: 'echo', max_tokens: 64, tools: [WEATHER], messages: [{ role: 'user' as const, content: CALL }] };
    const r = await client.messages.create(body, NO_CACHE);
    expect(r.stop_reason).toBe('tool_use');
    expect(r.content).toHaveLength(1);
    expect(r.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } });
    expect((r.content[0] as Anthropic.ToolUseBlock).id).toMatch(/^toolu_/);
    const s = await client.messages.stream(body, NO_CACHE).finalMessage();
    expect(s.stop_reason).toBe('tool_use');
    expect(s.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } });
    // the input is the model's own JSON text: an integer past 2^53 keeps its digits (the SDK's JSON.parse would not)
    const big = '{"name":"get_weather","arguments":{"city":"Oslo","n":12345678901234567890}}';
    const raw = await h.fetch('/v1/messages', { json: { ...body, messages: [{ role: 'user', content: big }] }, headers: NO_CACHE.headers });
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    const rawText = await raw.text();
    expect(rawText).toContain('"input":{"city":"Oslo","n":12345678901234567890}');
    expect(JSON.parse(rawText)).toMatchObject({ type: 'message', stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'get_weather' }] });
    // tool_choice none: the same output is text
    const none = await client.messages.create({ ...body, tool_choice: { type: 'none' } }, NO_CACHE);
    expect(none.stop_reason).toBe('end_turn');
    expect(none.content).toEqual([{ type: 'text', text: CALL }]);
  });

  it('a conversation with tool_use and tool_result blocks is served', async () => {
    const r = await client.messages.create({
      model: 'echo', max_tokens: 64, tools: [WEATHER],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'text', text: 'checking' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }, { type: 'text', text: 'thanks' }] },
      ],
    }, NO_CACHE);
    expect(r.stop_reason).toBe('end_turn');
    expect((r.content[0] as Anthropic.TextBlock).text).toBe('weather? checking sunny thanks');
  });

  it('errors come in Anthropic\'s shape; unsupported fields and content are refused by name', async () => {
    const msg = { model: 'echo', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };
    const cases: [Promise<unknown>, number, string, RegExp][] = [
      [client.messages.create({ ...msg, model: 'nope' }), 404, 'not_found_error', /nope|model/],
      // top_k: not in this SDK's types (older clients send it)
      [client.messages.create({ ...msg, top_k: 5 } as Anthropic.MessageCreateParamsNonStreaming), 400, 'invalid_request_error', /top_k/],
      [client.messages.create({ ...msg, thinking: { type: 'enabled', budget_tokens: 1024 } }), 400, 'invalid_request_error', /thinking/],
      [client.messages.create({ ...msg, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] }), 400, 'invalid_request_error', /no vision input.*messages\[0\]\.content\[0\]/],
      [client.messages.create({ ...msg, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }), 400, 'invalid_request_error', /tools\[0\].*server tools/],
      [client.messages.create({ ...msg, messages: [...msg.messages, { role: 'assistant', content: 'The answer is' }] }), 400, 'invalid_request_error', /messages\[1\].*prefill/],
      [client.messages.create({ ...msg, tool_choice: { type: 'any' } }), 400, 'invalid_request_error', /tool_choice/],
      [client.messages.create({ ...msg, tools: [WEATHER], tool_choice: { type: 'auto', disable_parallel_tool_use: false } }), 400, 'invalid_request_error', /disable_parallel_tool_use.*at most one call/],
      [client.messages.create({ ...msg, max_tokens: 0 }), 400, 'invalid_request_error', /max_tokens/],
      [new Anthropic({ apiKey: 'sk-wrong', baseURL: h.url, maxRetries: 0 }).messages.create(msg), 401, 'authentication_error', /key/i],
    ];
    for (const [p, status, type, message] of cases) {
      const r = await refusal(p);
      expect(r.status).toBe(status);
      expect(r.body).toEqual({ type: 'error', error: { type, message: expect.stringMatching(message) } });
    }
    const missing = await h.fetch('/v1/messages', { json: { model: 'echo', messages: msg.messages } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/max_tokens/) } });
  });

  it('accepts what does not change the output: cache_control, metadata, disable_parallel_tool_use', async () => {
    const r = await client.messages.create({
      model: 'echo', max_tokens: 16, metadata: { user_id: 'u-1' }, tools: [WEATHER], tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(r.content).toEqual([{ type: 'text', text: 'sys hello' }]);
  });
});

/** The SSE text up to the first text delta, and the reader for the rest. */
async function untilFirstDelta(res: JsonResponse): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; text: string }> {
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('"text_delta"')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return { reader, text };
}

async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += new TextDecoder().decode(value);
  }
}

describe('Anthropic Messages API: faults in Anthropic\'s shape', () => {
  it('a stream whose worker dies mid-way ends with an error event', async () => {
    const h = await startHarness({ workers: [{ tokenDelayMs: 50, firstTokenDelayMs: 0 }] });
    try {
      const res = await h.fetch('/v1/messages', { json: { model: 'echo', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }] } });
      expect(res.status).toBe(200);
      const { reader, text } = await untilFirstDelta(res);
      h.workers[0]!.kill();
      const events = (text + (await rest(reader))).split('\n\n').filter((b) => b !== '');
      expect(events[0]).toMatch(/^event: message_start\n/);
      const last = events.at(-1)!;
      expect(last).toMatch(/^event: error\ndata: /);
      expect(JSON.parse(last.split('\ndata: ')[1]!)).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
    } finally {
      await h.close();
    }
  });

  it('a request past limits.requestTimeoutMs gets 504 timeout_error', async () => {
    const h = await startHarness({ workers: [{ firstTokenDelayMs: 5000, tokenDelayMs: 10 }], config: { limits: { requestTimeoutMs: 200 } } });
    try {
      const res = await h.fetch('/v1/messages', { json: { model: 'echo', max_tokens: 8, messages: [{ role: 'user', content: 'too slow' }] } });
      expect(res.status).toBe(504);
      expect(await res.json()).toEqual({ type: 'error', error: { type: 'timeout_error', message: expect.any(String) } });
    } finally {
      await h.close();
    }
  });
});
