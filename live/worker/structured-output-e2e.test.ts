// Structured output (issue 17) on the real path, with the official `openai` client: HTTP → gateway →
// gRPC (GenerateRequest.response_format_json) → worker node → python runtime (llguidance mask per
// sequence, python/mlx_runtime/structured.py) on the tiny model, whose free text is nonsense: every
// JSON document that parses here parses because of the mask. Validated with ajv.
import Ajv from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-structured-e2e-0001';
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    count: { type: 'integer', minimum: 0, maximum: 999 },
    colour: { enum: ['red', 'green', 'blue'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 },
  },
  required: ['name', 'count', 'colour', 'tags'],
  additionalProperties: false,
};
const JSON_SCHEMA = { type: 'json_schema' as const, json_schema: { name: 'lantern', schema: SCHEMA, strict: true } };
const JSON_OBJECT = { type: 'json_object' as const };
const validate = new Ajv().compile(SCHEMA);

function expectValid(content: string | null | undefined): unknown {
  const doc: unknown = JSON.parse(content ?? '');
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc;
}

describe('structured output (response_format) end to end (python runtime, tiny model)', () => {
  let stack: TinyStack;
  let openai: OpenAI;
  const messages = [{ role: 'user' as const, content: 'Describe a lantern as JSON.' }];

  beforeAll(async () => {
    stack = await startTinyStack('structured', API_KEY);
    openai = stack.openai;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('json_schema: greedy and sampled, streamed and not, the output validates against the schema', async () => {
    for (const sampling of [{ temperature: 0 }, { temperature: 1, top_p: 0.95, seed: 11 }]) {
      const body = { model: 'tiny', messages, max_tokens: 200, response_format: JSON_SCHEMA, ...sampling };
      const r = await openai.chat.completions.create(body, NO_CACHE);
      expect(r.choices[0]!.finish_reason).toBe('stop');
      expectValid(r.choices[0]!.message.content);
      const stream = await openai.chat.completions.create({ ...body, stream: true }, NO_CACHE);
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe(r.choices[0]!.message.content); // deterministic (greedy or seeded)
    }
  }, 60_000);

  it('json_object: the output parses as a JSON object', async () => {
    const r = await openai.chat.completions.create({ model: 'tiny', messages, max_tokens: 300, temperature: 0, response_format: JSON_OBJECT }, NO_CACHE);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    const doc: unknown = JSON.parse(r.choices[0]!.message.content ?? '');
    expect(typeof doc === 'object' && doc !== null && !Array.isArray(doc)).toBe(true);
  }, 60_000);

  it('concurrent constrained and free requests share the running batch; each constrained one validates', async () => {
    const free = { model: 'tiny', messages, max_tokens: 16, temperature: 0 };
    const alone = (await openai.chat.completions.create(free, NO_CACHE)).choices[0]!.message.content;
    const kinds = ['schema', 'free', 'schema', 'object', 'free', 'schema'] as const;
    const rs = await Promise.all(kinds.map((k, i) => openai.chat.completions.create(
      k === 'free' ? free : { model: 'tiny', messages, max_tokens: 300, temperature: i % 2 === 0 ? 0 : 0.9, seed: i, response_format: k === 'schema' ? JSON_SCHEMA : JSON_OBJECT },
      NO_CACHE,
    )));
    rs.forEach((r, i) => {
      const content = r.choices[0]!.message.content;
      if (kinds[i] === 'free') expect(content).toBe(alone);
      else if (kinds[i] === 'schema') expectValid(content);
      else expect(typeof JSON.parse(content ?? '')).toBe('object');
    });
  }, 60_000);

  it('a token budget too small for the JSON to close: finish_reason length and an unfinished (invalid) document', async () => {
    const r = await openai.chat.completions.create({ model: 'tiny', messages, max_tokens: 3, temperature: 0, response_format: JSON_SCHEMA }, NO_CACHE);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.choices[0]!.message.content!.startsWith('{')).toBe(true);
    expect(() => JSON.parse(r.choices[0]!.message.content!)).toThrow();
  }, 60_000);

  it('requests differing only in schema do not share an answer; an identical one does', async () => {
    const base = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Shape it.' }], max_tokens: 300, temperature: 0 };
    const other = { ...JSON_SCHEMA, json_schema: { ...JSON_SCHEMA.json_schema, schema: { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 99 } }, required: ['n'], additionalProperties: false } } };
    const runtimeRequests = () => stack.worker.node.counters.requests;
    const before = runtimeRequests();
    const a = await openai.chat.completions.create({ ...base, response_format: JSON_SCHEMA });
    const b = await openai.chat.completions.create({ ...base, response_format: other });
    await openai.chat.completions.create({ ...base, response_format: JSON_OBJECT });
    expect(runtimeRequests() - before).toBe(3);
    expectValid(a.choices[0]!.message.content);
    expect(Number.isInteger((JSON.parse(b.choices[0]!.message.content!) as { n: unknown }).n)).toBe(true);
    const again = await openai.chat.completions.create({ ...base, response_format: JSON_SCHEMA });
    expect(runtimeRequests() - before).toBe(3);
    expect(again.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
  }, 60_000);

  it('an invalid schema is a 400 naming response_format; other formats are refused by name', async () => {
    const bad = await openai.chat.completions.create({
      model: 'tiny', messages, max_tokens: 5, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'frobnicate' } } },
    }, NO_CACHE).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as Error).message).toMatch(/response_format/);
    const other = await openai.chat.completions.create({
      model: 'tiny', messages, response_format: { type: 'grammar' } as unknown as typeof JSON_OBJECT,
    }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OpenAI.BadRequestError);
    expect((other as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('response_format');
  }, 60_000);
});
