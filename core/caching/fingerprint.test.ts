// Request fingerprints: cover the model, the prompt or messages and every sampling parameter; and the
// shareability rule (deterministic sampling, not opted out).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InferenceRequest, SamplingParams } from '../types.js';
import { fingerprint, isShareable } from './fingerprint.js';

const base: InferenceRequest = {
  id: 'r1', model: 'llama-8b', prompt: { kind: 'text', text: 'Hello there' }, promptTokens: 3, prefixBlocks: [],
  sampling: { temperature: 0, topP: 1, maxTokens: 64 }, stream: false,
};
const withSampling = (s: Partial<SamplingParams>): InferenceRequest => ({ ...base, sampling: { ...base.sampling, ...s } });
const chat = (messages: InferenceRequest['prompt'] & { kind: 'messages' } extends { messages: infer M } ? M : never): InferenceRequest => ({
  ...base, prompt: { kind: 'messages', messages },
});

describe('fingerprint', () => {
  it('is a stable 16-hex-digit string', () => {
    expect(fingerprint(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(base)).toBe(fingerprint({ ...base }));
  });

  it('ignores what does not determine the output: id, stream, session, api key, token counts, blocks', () => {
    const other: InferenceRequest = { ...base, id: 'r2', stream: true, sessionId: 's', apiKey: 'k', promptTokens: 99, prefixBlocks: [1, 2], cacheBypass: true };
    expect(fingerprint(other)).toBe(fingerprint(base));
  });

  it('changes when any single input changes', () => {
    const variants: [string, InferenceRequest][] = [
      ['model', { ...base, model: 'llama-70b' }],
      ['prompt text', { ...base, prompt: { kind: 'text', text: 'Hello there!' } }],
      ['prompt kind', chat([{ role: 'user', content: 'Hello there' }])],
      ['temperature', withSampling({ temperature: 0.7 })],
      ['topP', withSampling({ topP: 0.9 })],
      ['maxTokens', withSampling({ maxTokens: 65 })],
      ['seed', withSampling({ seed: 1 })],
      ['stop', withSampling({ stop: ['\n'] })],
      ['logprobs asked for', withSampling({ logprobs: 0 })],
      ['top logprobs', withSampling({ logprobs: 5 })],
      ['json mode', withSampling({ responseFormat: '{"type":"json_object"}' })],
    ];
    const fps = new Set([fingerprint(base)]);
    for (const [what, v] of variants) {
      const fp = fingerprint(v);
      expect(fp, what).not.toBe(fingerprint(base));
      fps.add(fp);
    }
    expect(fps.size).toBe(variants.length + 1);
    // An empty stop list means the same as none.
    expect(fingerprint(withSampling({ stop: [] }))).toBe(fingerprint(base));
  });

  it('distinguishes seeds, stop lists, message roles, contents and order', () => {
    expect(fingerprint(withSampling({ seed: 1 }))).not.toBe(fingerprint(withSampling({ seed: 2 })));
    expect(fingerprint(withSampling({ stop: ['a', 'b'] }))).not.toBe(fingerprint(withSampling({ stop: ['b', 'a'] })));
    expect(fingerprint(withSampling({ stop: ['ab'] }))).not.toBe(fingerprint(withSampling({ stop: ['a', 'b'] })));
    const u = { role: 'user', content: 'hi' } as const;
    const a = { role: 'assistant', content: 'hello' } as const;
    expect(fingerprint(chat([u, a]))).not.toBe(fingerprint(chat([a, u])));
    expect(fingerprint(chat([u]))).not.toBe(fingerprint(chat([{ role: 'system', content: 'hi' }])));
    expect(fingerprint(chat([u]))).not.toBe(fingerprint(chat([{ role: 'user', content: 'hi ' }])));
    expect(fingerprint(chat([u, a]))).not.toBe(fingerprint(chat([u])));
  });

  it('distinguishes response formats: two schemas never share an answer; none keeps the old fingerprint', () => {
    const schema = (props: object) => withSampling({ responseFormat: JSON.stringify({ type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: props } } }) });
    expect(fingerprint(schema({ a: { type: 'integer' } }))).not.toBe(fingerprint(schema({ a: { type: 'string' } })));
    expect(fingerprint(schema({ a: { type: 'integer' } }))).toBe(fingerprint(schema({ a: { type: 'integer' } })));
    expect(fingerprint(schema({}))).not.toBe(fingerprint(withSampling({ responseFormat: '{"type":"json_object"}' })));
    expect(fingerprint(withSampling({ responseFormat: undefined }))).toBe(fingerprint(base));
  });

  it('distinguishes tools, tool_choice and tool messages; requests without them keep the old fingerprint', () => {
    const tools = JSON.stringify([{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]);
    const withTools = withSampling({ tools });
    expect(fingerprint(withTools)).not.toBe(fingerprint(base));
    expect(fingerprint(withSampling({ tools, toolChoice: '"required"' }))).not.toBe(fingerprint(withTools));
    expect(fingerprint(withSampling({ tools, toolChoice: '"required"' }))).not.toBe(fingerprint(withSampling({ tools, toolChoice: '"auto"' })));
    expect(fingerprint(withSampling({ tools: undefined, toolChoice: undefined }))).toBe(fingerprint(base));
    const turn = (extra: object) => chat([{ role: 'user', content: 'x' }, { role: 'assistant', content: '', ...extra }]);
    expect(fingerprint(turn({ toolCalls: '[{"id":"a"}]' }))).not.toBe(fingerprint(turn({})));
    expect(fingerprint(turn({ toolCalls: '[{"id":"a"}]' }))).not.toBe(fingerprint(turn({ toolCalls: '[{"id":"b"}]' })));
    expect(fingerprint(turn({ toolCallId: 'a' }))).not.toBe(fingerprint(turn({})));
  });

  it('keeps field boundaries: moving text from one field to the next changes the fingerprint', () => {
    expect(fingerprint(chat([{ role: 'user', content: 'ab' }, { role: 'user', content: 'c' }]))).not.toBe(
      fingerprint(chat([{ role: 'user', content: 'a' }, { role: 'user', content: 'bc' }])),
    );
    expect(fingerprint({ ...base, model: 'ab', prompt: { kind: 'text', text: 'c' } })).not.toBe(fingerprint({ ...base, model: 'a', prompt: { kind: 'text', text: 'bc' } }));
    expect(fingerprint(withSampling({ stop: ['ab', 'c'] }))).not.toBe(fingerprint(withSampling({ stop: ['a', 'bc'] })));
  });

  it('equal fingerprints exactly when every output-determining field is equal (random requests)', () => {
    const sampling = fc.record({
      temperature: fc.constantFrom(0, 1),
      topP: fc.constantFrom(0.9, 1),
      maxTokens: fc.integer({ min: 1, max: 2 }),
      seed: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    });
    const request = fc.record({ model: fc.constantFrom('a', 'b'), text: fc.constantFrom('', 'a', 'ab', 'a|b'), sampling });
    fc.assert(
      fc.property(request, request, (r1, r2) => {
        const q1: InferenceRequest = { ...base, model: r1.model, prompt: { kind: 'text', text: r1.text }, sampling: r1.sampling };
        const q2: InferenceRequest = { ...base, model: r2.model, prompt: { kind: 'text', text: r2.text }, sampling: r2.sampling };
        const same = JSON.stringify([r1.model, r1.text, r1.sampling.temperature, r1.sampling.topP, r1.sampling.maxTokens, r1.sampling.seed ?? null]) ===
          JSON.stringify([r2.model, r2.text, r2.sampling.temperature, r2.sampling.topP, r2.sampling.maxTokens, r2.sampling.seed ?? null]);
        expect(fingerprint(q1) === fingerprint(q2)).toBe(same);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('isShareable', () => {
  it('shares greedy (temperature 0) requests', () => {
    expect(isShareable(base, false)).toBe(true);
  });
  it('does not share sampled requests without a seed, unless shareNondeterministic', () => {
    const sampled = withSampling({ temperature: 0.8 });
    expect(isShareable(sampled, false)).toBe(false);
    expect(isShareable(sampled, true)).toBe(true);
  });
  it('shares sampled requests with a fixed seed (seed 0 included)', () => {
    expect(isShareable(withSampling({ temperature: 0.8, seed: 7 }), false)).toBe(true);
    expect(isShareable(withSampling({ temperature: 0.8, seed: 0 }), false)).toBe(true);
  });
  it('never shares a request that opted out, whatever the sampling', () => {
    expect(isShareable({ ...base, cacheBypass: true }, false)).toBe(false);
    expect(isShareable({ ...base, cacheBypass: true }, true)).toBe(false);
    expect(isShareable({ ...withSampling({ seed: 3 }), cacheBypass: true }, true)).toBe(false);
    expect(isShareable({ ...base, cacheBypass: false }, false)).toBe(true);
  });
});
