// The Anthropic Messages API (issue 17) on the real path, with the official `@anthropic-ai/sdk` client:
// HTTP POST /v1/messages → the gateway maps it onto a chat body and admits it as /v1/chat/completions
// (live/gateway/anthropic-mapping.ts, admission.ts) → worker node → python runtime (tiny model) →
// Anthropic's message or SSE events (anthropic-sink.ts). The same conversation through the openai
// client answers the same text at temperature 0: one path, two renderings.
import Ajv from 'ajv';
import type Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-anthropic-e2e-0001';
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

const WEATHER_SCHEMA: Anthropic.Tool.InputSchema = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 16 }, unit: { enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const ADD_SCHEMA: Anthropic.Tool.InputSchema = {
  type: 'object',
  properties: { a: { type: 'integer', minimum: -100, maximum: 100 }, b: { type: 'integer', minimum: -100, maximum: 100 } },
  required: ['a', 'b'],
  additionalProperties: false,
};
const TOOLS: Anthropic.Tool[] = [
  { name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER_SCHEMA },
  { name: 'add', description: 'Add two integers', input_schema: ADD_SCHEMA },
];
const ajv = new Ajv();
const VALIDATE: Record<string, ReturnType<typeof ajv.compile>> = { get_weather: ajv.compile(WEATHER_SCHEMA), add: ajv.compile(ADD_SCHEMA) };

function expectValidToolUse(block: Anthropic.ContentBlock | undefined, only?: string): Anthropic.ToolUseBlock {
  expect(block?.type).toBe('tool_use');
  const b = block as Anthropic.ToolUseBlock;
  expect(b.id).toMatch(/^toolu_/);
  if (only !== undefined) expect(b.name).toBe(only);
  const v = VALIDATE[b.name];
  expect(v, `unknown tool ${b.name}`).toBeDefined();
  expect(v!(b.input), JSON.stringify(v!.errors)).toBe(true);
  return b;
}

describe('Anthropic Messages API end to end (python runtime, tiny model)', () => {
  let stack: TinyStack;
  let client: Anthropic;
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo?' }];

  beforeAll(async () => {
    stack = await startTinyStack('anthropic', API_KEY);
    client = stack.anthropic;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('text: the same answer and usage as the OpenAI route, streamed and not; max_tokens ends with stop_reason max_tokens', async () => {
    const body = { model: 'tiny', max_tokens: 12, temperature: 0, system: 'You are terse.', messages };
    const r = await client.messages.create(body, NO_CACHE);
    expect(r.stop_reason).toBe('max_tokens');
    expect(r.content).toHaveLength(1);
    const text = (r.content[0] as Anthropic.TextBlock).text;
    expect(r.usage.output_tokens).toBe(12);

    const o = await stack.openai.chat.completions.create({ model: 'tiny', max_tokens: 12, temperature: 0, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'What is the weather in Oslo?' }] }, NO_CACHE);
    expect(o.choices[0]!.message.content).toBe(text);
    expect(r.usage.input_tokens).toBe(o.usage!.prompt_tokens);

    const stream = client.messages.stream(body, NO_CACHE);
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const s = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
    expect(s.stop_reason).toBe('max_tokens');
    expect((s.content[0] as Anthropic.TextBlock).text).toBe(text);
    expect(s.usage).toMatchObject({ input_tokens: r.usage.input_tokens, output_tokens: 12 });
  }, 60_000);

  it('stop_sequences cut the text before the sequence: stop_reason stop_sequence, naming it, streamed and not', async () => {
    const body = { model: 'tiny', max_tokens: 24, temperature: 0, messages };
    const free = await client.messages.create(body, NO_CACHE);
    const text = (free.content[0] as Anthropic.TextBlock).text;
    const stop = text.slice(6, 9);
    expect(stop.trim().length).toBeGreaterThan(0);
    const r = await client.messages.create({ ...body, stop_sequences: [stop] }, NO_CACHE);
    const cut = r.content.length === 0 ? '' : (r.content[0] as Anthropic.TextBlock).text;
    expect(cut).toBe(text.slice(0, text.indexOf(stop)));
    expect(r).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    const s = await client.messages.stream({ ...body, stop_sequences: ['\u0000never', stop] }, NO_CACHE).finalMessage();
    expect(s).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    // an answer kept by the response cache keeps its stop sequence
    const stored = await client.messages.create({ ...body, stop_sequences: [stop, '\u0000cached'] });
    const cached = await client.messages.create({ ...body, stop_sequences: [stop, '\u0000cached'] });
    expect(cached).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop, content: stored.content });
    const free2 = await client.messages.create({ ...body, max_tokens: 4 }, NO_CACHE);
    expect(free2).toMatchObject({ stop_reason: 'max_tokens', stop_sequence: null });
  }, 60_000);

  it('tool_choice any: a tool_use block whose input validates, streamed (input_json_delta) and not, the same', async () => {
    for (const sampling of [{ temperature: 0 }, { temperature: 1, top_p: 0.95 }]) {
      const body = { model: 'tiny', max_tokens: 200, tools: TOOLS, tool_choice: { type: 'any' as const }, messages, ...sampling };
      const r = await client.messages.create(body, NO_CACHE);
      expect(r.stop_reason).toBe('tool_use');
      expect(r.content).toHaveLength(1);
      const call = expectValidToolUse(r.content[0]);

      const stream = client.messages.stream(body, NO_CACHE);
      let jsonDeltas = 0;
      stream.on('streamEvent', (e) => {
        if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') jsonDeltas++;
      });
      const s = await stream.finalMessage();
      expect(jsonDeltas).toBeGreaterThan(1);
      expect(s.stop_reason).toBe('tool_use');
      const streamed = expectValidToolUse(s.content[0]);
      if (sampling.temperature === 0) expect({ name: streamed.name, input: streamed.input }).toEqual({ name: call.name, input: call.input });
    }
  }, 120_000);

  it('a named tool, then its result: the next turn is answered as text', async () => {
    // temperature and top_p: served, though this SDK's types no longer list them (clients send them)
    const named = { model: 'tiny', max_tokens: 200, temperature: 0.9, tools: TOOLS, tool_choice: { type: 'tool' as const, name: 'add' }, messages };
    const r = await client.messages.create(named, NO_CACHE);
    const call = expectValidToolUse(r.content[0], 'add');
    const turn: Anthropic.MessageParam[] = [...messages, { role: 'assistant', content: r.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '42' }] }];
    const greedy = { model: 'tiny', max_tokens: 8, temperature: 0, tools: TOOLS, messages: turn };
    const next = await client.messages.create(greedy, NO_CACHE);
    expect(next.content.every((b) => b.type === 'text' || b.type === 'tool_use')).toBe(true);
    expect(['max_tokens', 'end_turn', 'tool_use']).toContain(next.stop_reason);
    expect(next.usage.input_tokens).toBeGreaterThan(r.usage.input_tokens);
  }, 60_000);
});
