// Issue 17 on the echo harness, through the official `openai` client: GET /v1/models/{id}, the shapes
// of logprobs (chat and completions, streamed and not), their validation and fingerprinting, and the
// refusal by name of every OpenAI field the gateway does not implement. The same features on the real
// path (python runtime) are in live/worker/openai-compat-e2e.test.ts.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, chatBody, startHarness, type Harness, type J } from './test-harness.js';

describe('OpenAI compatibility (issue 17), echo workers', () => {
  let h: Harness;
  let client: OpenAI;
  beforeAll(async () => {
    h = await startHarness({ workers: [{ models: ['echo', 'mlx-community/echo-2'] }] });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => h.close());

  async function refusal(path: string, body: Record<string, unknown>): Promise<J> {
    const r = await h.fetch(path, { json: body });
    expect(r.status).toBe(400);
    const j = await r.json();
    expect(Object.keys(j.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(j.error.type).toBe('invalid_request_error');
    return j.error;
  }

  describe('GET /v1/models/{id}', () => {
    it('retrieves a served model', async () => {
      expect(await client.models.retrieve('echo')).toEqual({ id: 'echo', object: 'model', created: 0, owned_by: 'mlx-serving' });
    });

    it('retrieves a model whose id holds a slash (the client percent-encodes it)', async () => {
      expect((await client.models.retrieve('mlx-community/echo-2')).id).toBe('mlx-community/echo-2');
    });

    it('an unknown model is a 404 OpenAI error: invalid_request_error, model_not_found, param null', async () => {
      const err = await client.models.retrieve('gpt-9').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      const r = await h.fetch('/v1/models/gpt-9');
      expect(r.status).toBe(404);
      const body = await r.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ message: expect.stringContaining('gpt-9'), type: 'invalid_request_error', param: null, code: 'model_not_found' });
    });

    it('needs a credential like every other route', async () => {
      expect((await h.fetch('/v1/models/echo', { key: null })).status).toBe(401);
    });
  });

  describe('logprobs', () => {
    it('chat, not streamed: choices[0].logprobs.content[] with top_logprobs', async () => {
      const r = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'alpha beta' }], logprobs: true, top_logprobs: 2, temperature: 0 });
      expect(r.choices[0]!.logprobs).toEqual({
        content: [
          { token: 'alpha', logprob: 0, bytes: [...Buffer.from('alpha')], top_logprobs: [{ token: 'alpha', logprob: 0, bytes: [...Buffer.from('alpha')] }] },
          { token: ' beta', logprob: 0, bytes: [...Buffer.from(' beta')], top_logprobs: [{ token: ' beta', logprob: 0, bytes: [...Buffer.from(' beta')] }] },
        ],
        refusal: null,
      });
      const plain = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'alpha beta' }], temperature: 0.5 });
      expect(plain.choices[0]!.logprobs).toBeNull();
    });

    it('chat, streamed: every content chunk carries its tokens', async () => {
      const stream = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one two three' }], logprobs: true, stream: true, temperature: 0.3 });
      const tokens: string[] = [];
      let text = '';
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? '';
        for (const lp of c.choices[0]?.logprobs?.content ?? []) {
          tokens.push(lp.token);
          expect(lp.top_logprobs).toEqual([]);
        }
      }
      expect(tokens.join('')).toBe(text);
      expect(tokens).toHaveLength(3);
    });

    it('completions, streamed and not: {tokens, token_logprobs, top_logprobs, text_offset}', async () => {
      const r = await client.completions.create({ model: 'echo', prompt: 'red green blue', logprobs: 1, temperature: 0.2 });
      expect(r.choices[0]!.logprobs).toEqual({
        tokens: ['red', ' green', ' blue'], token_logprobs: [0, 0, 0], top_logprobs: [{ red: 0 }, { ' green': 0 }, { ' blue': 0 }], text_offset: [0, 3, 9],
      });
      const s = await client.completions.create({ model: 'echo', prompt: 'red green blue', logprobs: 0, stream: true, temperature: 0.2 });
      const offsets: number[] = [];
      for await (const c of s) offsets.push(...(c.choices[0]?.logprobs?.text_offset ?? []));
      expect(offsets).toEqual([0, 3, 9]);
    });

    it('out-of-range values are a 400 naming the parameter', async () => {
      for (const [body, param] of [
        [chatBody('x', { logprobs: true, top_logprobs: 21 }), 'top_logprobs'],
        [chatBody('x', { logprobs: true, top_logprobs: -1 }), 'top_logprobs'],
        [chatBody('x', { logprobs: 'yes' }), 'logprobs'],
        [chatBody('x', { top_logprobs: 3 }), 'top_logprobs'],
      ] as const) {
        expect((await refusal('/v1/chat/completions', body)).param).toBe(param);
      }
      expect((await refusal('/v1/chat/completions', chatBody('x', { top_logprobs: 3 }))).message).toBe('Invalid top_logprobs: top_logprobs > 0 needs logprobs: true.');
      expect((await h.fetch('/v1/chat/completions', { json: chatBody('x', { top_logprobs: 0 }) })).status).toBe(200);
      expect((await refusal('/v1/completions', { model: 'echo', prompt: 'x', logprobs: 21 })).param).toBe('logprobs');
      expect((await refusal('/v1/completions', { model: 'echo', prompt: 'x', logprobs: true })).param).toBe('logprobs');
    });

    it('requests differing only in logprobs do not share an answer (fingerprint); identical ones do, logprobs included', async () => {
      const messages = [{ role: 'user' as const, content: 'share nothing please' }];
      const workerCalls = () => h.workers.reduce((n, w) => n + w.counters.requests, 0);
      const before = workerCalls();
      const plain = await client.chat.completions.create({ model: 'echo', messages, temperature: 0 });
      expect(plain.choices[0]!.logprobs).toBeNull();
      const withLp = await client.chat.completions.create({ model: 'echo', messages, temperature: 0, logprobs: true });
      expect(withLp.choices[0]!.logprobs?.content).toHaveLength(3);
      const withTop = await client.chat.completions.create({ model: 'echo', messages, temperature: 0, logprobs: true, top_logprobs: 1 });
      expect(withTop.choices[0]!.logprobs?.content?.[0]!.top_logprobs).toHaveLength(1);
      expect(workerCalls()).toBe(before + 3);
      // the same request again is served by dedupe / the cache, with its logprobs
      const again = await client.chat.completions.create({ model: 'echo', messages, temperature: 0, logprobs: true, top_logprobs: 1 });
      expect(again.choices[0]!.logprobs).toEqual(withTop.choices[0]!.logprobs);
      expect(workerCalls()).toBe(before + 3);
    });
  });

  describe('response_format: json_object and json_schema are served (constrained in the runtime)', () => {
    it('is accepted; a json_schema without a schema object is a 400 naming response_format', async () => {
      const messages = [{ role: 'user' as const, content: 'json please' }];
      const ok = await client.chat.completions.create({ model: 'echo', messages, response_format: { type: 'json_object' } });
      expect(ok.choices[0]!.finish_reason).toBe('stop');
      const e = await refusal('/v1/chat/completions', chatBody('x', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }));
      expect(e.param).toBe('response_format');
      expect(e.message).toMatch(/schema/);
    });

    it('requests differing only in response format or schema do not share an answer; identical ones do', async () => {
      const messages = [{ role: 'user' as const, content: 'shape me' }];
      const workerCalls = () => h.workers.reduce((n, w) => n + w.counters.requests, 0);
      const schema = (t: string) => ({ type: 'json_schema' as const, json_schema: { name: 's', schema: { type: 'object', properties: { a: { type: t } } } } });
      const before = workerCalls();
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0 });
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0, response_format: { type: 'json_object' } });
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0, response_format: schema('integer') });
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0, response_format: schema('string') });
      expect(workerCalls()).toBe(before + 4);
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0, response_format: schema('string') });
      await client.chat.completions.create({ model: 'echo', messages, temperature: 0, response_format: { type: 'text' } });
      expect(workerCalls()).toBe(before + 4);
    });
  });

  describe('what is not implemented is refused by name', () => {
    const chatRefusals: [string, unknown][] = [
      ['response_format', { type: 'grammar', grammar: 'root ::= "x"' }],
      ['response_format', { type: 'regex' }],
      ['tools', [{ type: 'custom', custom: { name: 'f' } }]],
      ['functions', [{ name: 'f' }]],
      ['function_call', 'auto'],
      ['n', 2],
      ['logit_bias', { 42: 10 }],
      ['frequency_penalty', 0.5],
      ['presence_penalty', -1],
      ['audio', { voice: 'alloy', format: 'wav' }],
      ['modalities', ['text', 'audio']],
      ['prediction', { type: 'content', content: 'x' }],
      ['reasoning_effort', 'low'],
      ['verbosity', 'low'],
      ['web_search_options', {}],
      ['top_k', 40],
      ['repetition_penalty', 1.1],
      ['guided_json', { type: 'object' }],
    ];
    for (const [field, value] of chatRefusals) {
      it(`chat: ${field} = ${JSON.stringify(value)}`, async () => {
        const e = await refusal('/v1/chat/completions', chatBody('x', { [field]: value }));
        expect(e).toMatchObject({ code: 'unsupported_parameter', param: field });
        expect(e.message).toMatch(/not supported/);
      });
    }

    it('completions: echo, suffix, best_of, n, logit_bias, penalties', async () => {
      for (const [field, value] of [['echo', true], ['suffix', 'end'], ['best_of', 3], ['n', 2], ['logit_bias', { 1: 1 }], ['frequency_penalty', 1], ['presence_penalty', 1]] as const) {
        const e = await refusal('/v1/completions', { model: 'echo', prompt: 'x', [field]: value });
        expect(e).toMatchObject({ code: 'unsupported_parameter', param: field });
      }
    });

    it('parallel_tool_calls: true with tools (several calls in one answer) is refused; false, or true without tools, is served', async () => {
      const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
      const e = await refusal('/v1/chat/completions', chatBody('x', { tools, parallel_tool_calls: true }));
      expect(e).toMatchObject({ code: 'unsupported_parameter', param: 'parallel_tool_calls' });
      expect(e.message).toMatch(/at most one call per turn/);
      expect((await h.fetch('/v1/chat/completions', { json: chatBody('x', { tools, parallel_tool_calls: false }) })).status).toBe(200);
      expect((await h.fetch('/v1/chat/completions', { json: chatBody('x', { parallel_tool_calls: true }) })).status).toBe(200);
    });

    it('the official client gets a BadRequestError naming the param', async () => {
      const err = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'f', parameters: {} }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('functions');
    });

    it('default values spelled out are accepted', async () => {
      const r = await h.fetch('/v1/chat/completions', {
        json: chatBody('fine defaults', {
          n: 1, logit_bias: {}, frequency_penalty: 0, presence_penalty: 0, response_format: { type: 'text' }, tools: [], tool_choice: 'none', modalities: ['text'],
          audio: null, prediction: null, user: 'u1', metadata: { a: 'b' }, store: false, service_tier: 'auto', parallel_tool_calls: true, logprobs: false,
        }),
      });
      expect(r.status).toBe(200);
      expect((await r.json()).choices[0].message.content).toBe('fine defaults');
      const c = await h.fetch('/v1/completions', { json: { model: 'echo', prompt: 'ok', echo: false, suffix: null, best_of: 1, n: 1 } });
      expect(c.status).toBe(200);
    });

    it('embeddings: dimensions other than the model\'s own', async () => {
      const e = await refusal('/v1/embeddings', { model: 'echo', input: 'x', dimensions: 4 });
      expect(e).toMatchObject({ code: 'unsupported_parameter', param: 'dimensions' });
      expect((await h.fetch('/v1/embeddings', { json: { model: 'echo', input: 'x', dimensions: 8 } })).status).toBe(200);
    });

    it('fields OpenAI does not define are accepted and ignored', async () => {
      const r = await h.fetch('/v1/chat/completions', { json: chatBody('still fine', { some_future_field: { x: 1 } }) });
      expect(r.status).toBe(200);
    });

    it('image and audio content parts: the model has no vision / no audio input', async () => {
      const image = await refusal('/v1/chat/completions', {
        model: 'echo', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
      });
      expect(image).toMatchObject({ code: 'unsupported_content', param: 'messages[0].content[1]' });
      expect(image.message).toMatch(/no vision/);
      const audio = await refusal('/v1/chat/completions', {
        model: 'echo', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
      });
      expect(audio).toMatchObject({ code: 'unsupported_content', param: 'messages[1].content[0]' });
      expect(audio.message).toMatch(/no audio/);
      const file = await refusal('/v1/chat/completions', { model: 'echo', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] });
      expect(file.param).toBe('messages[0].content[0]');
      const calls = await refusal('/v1/chat/completions', {
        model: 'echo', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'f', input: '' } }] }],
      });
      expect(calls.param).toBe('messages[1].tool_calls');
    });
  });
});
