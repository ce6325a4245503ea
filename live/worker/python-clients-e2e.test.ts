// The gateway as Python users call it: the official `openai` and `anthropic` Python clients (python/requirements-dev.txt,
// installed into python/.venv by the test set-up) against the tiny stack (gateway → gRPC → worker node
// → python runtime). The script (python-clients/openai_client.py) prints what came back; this test
// checks it: models, chat streamed and not (the same text), usage with cached tokens, completion
// logprobs, a strict json_schema answer that validates, a required tool call whose arguments validate,
// refusals as the client's typed errors.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonBin } from '../shared/python.js';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-python-clients-0001';
const SCRIPTS = join(import.meta.dirname, 'python-clients');

/** Runs a client script (asynchronously: the gateway answering it lives in this process). */
async function runScript(name: string, url: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await promisify(execFile)(pythonBin(), [join(SCRIPTS, name), url, API_KEY], { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('the official Python clients end to end (tiny model)', () => {
  let stack: TinyStack;

  beforeAll(async () => {
    stack = await startTinyStack('python-clients', API_KEY);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('openai (Python): chat, streaming, completions with logprobs, json_schema, tools, errors', async () => {
    const out = await runScript('openai_client.py', stack.url);
    expect(out.models).toEqual(['tiny']);
    expect(out.chat.finish_reason).toBe('length');
    expect(out.chat.usage).toMatchObject({ completion_tokens: 8, prompt_tokens_details: { cached_tokens: 0 } });
    expect(out.chat_stream.content).toBe(out.chat.content);
    expect(out.chat_stream.usage.completion_tokens).toBe(8);
    expect(out.completion.tokens).toBe(6);
    expect(out.completion.top).toEqual([2, 2, 2, 2, 2, 2]);
    const ajv = new Ajv();
    expect(ajv.validate(out.json_schema.schema, JSON.parse(out.json_schema.content as string)), ajv.errorsText()).toBe(true);
    expect(out.tools.finish_reason).toBe('tool_calls');
    expect(out.tools.calls).toHaveLength(1);
    expect(out.tools.calls[0].name).toBe('get_weather');
    expect(typeof out.tools.calls[0].arguments.city).toBe('string');
    expect(out.refusal).toMatchObject({ status: 400, param: 'n' });
    expect(out.unknown_model).toEqual({ status: 404, code: 'model_not_found' });
  }, 120_000);

  it('anthropic (Python): a message, a stream with the same text, a forced tool_use that validates, a refusal in Anthropic\'s shape', async () => {
    const out = await runScript('anthropic_client.py', stack.url);
    expect(out.message.stop_reason).toBe('max_tokens');
    expect(out.message.usage.output_tokens).toBe(12);
    expect(out.stream).toEqual({ text: out.message.text, stop_reason: 'max_tokens', output_tokens: 12 });
    expect(out.tool_use.stop_reason).toBe('tool_use');
    expect(out.tool_use.blocks).toHaveLength(1);
    expect(out.tool_use.blocks[0].name).toBe('get_weather');
    expect(typeof out.tool_use.blocks[0].input.city).toBe('string');
    expect(out.refusal).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect(out.refusal.message).toContain('thinking');
  }, 120_000);
});
