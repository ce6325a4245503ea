// Tool calls (issue 17) on the real path, with the official `openai` client: HTTP → gateway (tools,
// tool_choice, tool_calls / tool messages → GenerateRequest.tools_json, tool_choice_json,
// ChatMessage.tool_calls_json) → worker node → python runtime (the tiny model's chat template renders
// the tools; tool_choice required / named enforced by constrained decoding, python/mlx_runtime/tools.py)
// → the output parsed into OpenAI tool_calls (live/gateway/tool-calls.ts), streamed as deltas. The
// tiny model's free text is nonsense: every call that validates here validates because of the mask.
import Ajv from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-tools-e2e-0001';
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

const WEATHER_PARAMS = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 16 }, unit: { enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const ADD_PARAMS = {
  type: 'object',
  properties: { a: { type: 'integer', minimum: -100, maximum: 100 }, b: { type: 'integer', minimum: -100, maximum: 100 } },
  required: ['a', 'b'],
  additionalProperties: false,
};
const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_PARAMS } },
  { type: 'function', function: { name: 'add', description: 'Add two integers', parameters: ADD_PARAMS } },
];
const ajv = new Ajv();
const VALIDATE: Record<string, ReturnType<typeof ajv.compile>> = { get_weather: ajv.compile(WEATHER_PARAMS), add: ajv.compile(ADD_PARAMS) };

function expectValidCall(name: string, args: string, only?: string): void {
  if (only !== undefined) expect(name).toBe(only);
  const v = VALIDATE[name];
  expect(v, `unknown tool ${name}`).toBeDefined();
  const doc: unknown = JSON.parse(args);
  expect(v!(doc), JSON.stringify(v!.errors)).toBe(true);
}

describe('tool calls end to end (python runtime, tiny model)', () => {
  let stack: TinyStack;
  let openai: OpenAI;
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo?' }];

  beforeAll(async () => {
    stack = await startTinyStack('tools', API_KEY);
    openai = stack.openai;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('tool_choice required: a call that validates, streamed (deltas accumulated) and not, the same', async () => {
    for (const sampling of [{ temperature: 0 }, { temperature: 1, top_p: 0.95, seed: 7 }]) {
      const body = { model: 'tiny', messages, tools: TOOLS, tool_choice: 'required' as const, max_tokens: 200, ...sampling };
      const r = await openai.chat.completions.create(body, NO_CACHE);
      const choice = r.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expect(choice.message.tool_calls).toHaveLength(1);
      const call = choice.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect(call.type).toBe('function');
      expect(call.id).toMatch(/^call_/);
      expectValidCall(call.function.name, call.function.arguments);

      const stream = await openai.chat.completions.create({ ...body, stream: true }, NO_CACHE);
      let name = '';
      let args = '';
      let id = '';
      let finish: string | null = null;
      let content = '';
      let firstHasName = false;
      let deltas = 0;
      for await (const c of stream) {
        const ch = c.choices[0];
        if (ch === undefined) continue;
        content += ch.delta.content ?? '';
        for (const tc of ch.delta.tool_calls ?? []) {
          expect(tc.index).toBe(0);
          if (deltas === 0) firstHasName = tc.id !== undefined && tc.type === 'function' && tc.function?.name !== undefined;
          deltas++;
          if (tc.id !== undefined) id = tc.id;
          if (tc.function?.name !== undefined) name += tc.function.name;
          args += tc.function?.arguments ?? '';
        }
        if (ch.finish_reason !== null) finish = ch.finish_reason;
      }
      expect(firstHasName).toBe(true);
      expect(deltas).toBeGreaterThan(1);
      expect(content).toBe('');
      expect(finish).toBe('tool_calls');
      expect(id).toMatch(/^call_/);
      expectValidCall(name, args);
      expect({ name, args }).toEqual({ name: call.function.name, args: call.function.arguments }); // deterministic
    }
  }, 60_000);

  it('a named function: always that call, valid, also batched with free requests', async () => {
    const named = { type: 'function' as const, function: { name: 'add' } };
    const kinds = ['named', 'free', 'required', 'named', 'free', 'required'] as const;
    const rs = await Promise.all(kinds.map((k, i) => openai.chat.completions.create(
      k === 'free'
        ? { model: 'tiny', messages, max_tokens: 16, temperature: 0 }
        : { model: 'tiny', messages, tools: TOOLS, tool_choice: k === 'named' ? named : 'required', max_tokens: 200, temperature: 0.9, seed: i },
      NO_CACHE,
    )));
    rs.forEach((r, i) => {
      const choice = r.choices[0]!;
      if (kinds[i] === 'free') {
        expect(choice.finish_reason).toBe('length');
        expect(choice.message.tool_calls ?? []).toHaveLength(0);
        return;
      }
      expect(choice.finish_reason).toBe('tool_calls');
      const call = choice.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expectValidCall(call.function.name, call.function.arguments, kinds[i] === 'named' ? 'add' : undefined);
    });
  }, 60_000);

  it('tool_choice none and auto: the tiny model answers text (no call), the tools rendered into the prompt', async () => {
    for (const tool_choice of ['none', 'auto'] as const) {
      const r = await openai.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, tool_choice, max_tokens: 12, temperature: 0 }, NO_CACHE);
      expect(r.choices[0]!.finish_reason).toBe('length');
      expect(r.choices[0]!.message.tool_calls ?? []).toHaveLength(0);
      expect(typeof r.choices[0]!.message.content).toBe('string');
      // the tools are in the prompt: many more prompt tokens than without them
      const plain = await openai.chat.completions.create({ model: 'tiny', messages, max_tokens: 1, temperature: 0 }, NO_CACHE);
      expect(r.usage!.prompt_tokens).toBeGreaterThan(plain.usage!.prompt_tokens + 50);
    }
  }, 60_000);

  it('a follow-up turn with the assistant\'s tool_calls and a tool message is accepted and answered', async () => {
    const first = await openai.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 200, temperature: 0 }, NO_CACHE);
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    const turn: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"temperature": 12}' },
    ];
    const r = await openai.chat.completions.create({ model: 'tiny', messages: turn, tools: TOOLS, max_tokens: 8, temperature: 0 }, NO_CACHE);
    expect(r.choices[0]!.finish_reason).toBe('length');
    const without = await openai.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, max_tokens: 8, temperature: 0 }, NO_CACHE);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(without.usage!.prompt_tokens); // the call and the result are rendered
    // and a forced call after a tool result still validates
    const again = await openai.chat.completions.create({ model: 'tiny', messages: turn, tools: TOOLS, tool_choice: 'required', max_tokens: 200, temperature: 0 }, NO_CACHE);
    const c2 = again.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expectValidCall(c2.function.name, c2.function.arguments);
  }, 60_000);

  it('an answer served from the response cache streams as the same call; auto streams text as content', async () => {
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Add two numbers.' }], tools: TOOLS, tool_choice: 'required' as const, max_tokens: 200, temperature: 0 };
    const runtimeRequests = () => stack.worker.node.counters.requests;
    const before = runtimeRequests();
    const r = await openai.chat.completions.create(body);
    const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    const stream = await openai.chat.completions.create({ ...body, stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const c of stream) {
      for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? '';
        args += tc.function?.arguments ?? '';
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(runtimeRequests() - before).toBe(1); // the second one served from the cache
    expect({ name, args, finish }).toEqual({ name: call.function.name, args: call.function.arguments, finish: 'tool_calls' });
    // a different tool_choice is a different request
    await openai.chat.completions.create({ ...body, tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    expect(runtimeRequests() - before).toBe(2);

    const auto = await openai.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, max_tokens: 12, temperature: 0, stream: true }, NO_CACHE);
    let content = '';
    let calls = 0;
    for await (const c of auto) {
      content += c.choices[0]?.delta.content ?? '';
      calls += c.choices[0]?.delta.tool_calls?.length ?? 0;
    }
    const plain = await openai.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, max_tokens: 12, temperature: 0 }, NO_CACHE);
    expect(calls).toBe(0);
    expect(content).toBe(plain.choices[0]!.message.content);
  }, 60_000);

  it('refusals: a named function not among the tools, required without tools, a non-function tool, functions', async () => {
    const bad = async (body: object): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
      const e = await openai.chat.completions.create({ model: 'tiny', messages, max_tokens: 5, ...body } as never, NO_CACHE).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      return e as InstanceType<typeof OpenAI.BadRequestError>;
    };
    expect((await bad({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } })).param).toBe('tool_choice');
    expect((await bad({ tool_choice: 'required' })).param).toBe('tool_choice');
    expect((await bad({ tools: [{ type: 'custom', custom: { name: 'x' } }] })).param).toBe('tools');
    expect((await bad({ functions: [{ name: 'f', parameters: {} }] })).param).toBe('functions');
    expect((await bad({ tools: TOOLS, tool_choice: 'required', response_format: { type: 'json_object' } })).param).toBe('tool_choice');
  }, 60_000);
});
