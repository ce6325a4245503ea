// Limits on everything a client controls, each refused with a 4xx in OpenAI's error shape naming the
// param; slow-loris clients (headers or body dribbled in) are cut off with 408.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, chatBody, startHarness, type Harness, type JsonResponse } from './test-harness.js';

const LIMITS = {
  bodyLimitBytes: 64 * 1024, maxTokensMax: 100, defaultMaxTokens: 50, messagesMax: 8, promptTokensMax: 1000, stopSequencesMax: 2, stopLengthMax: 16,
  headersTimeoutMs: 400, receiveTimeoutMs: 1200, requestTimeoutMs: 10_000, shutdownTimeoutMs: 1000,
};

describe('client-controlled limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: LIMITS } });
  });
  afterAll(() => h.close());

  async function refused(r: JsonResponse, status: number, code: string, paramPrefix: string): Promise<void> {
    expect(r.status).toBe(status);
    const body = await r.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(String(body.error.param)).toMatch(new RegExp(`^${paramPrefix.replace(/[[\]]/g, '\\$&')}`));
  }
  const chat = (over: Record<string, unknown>) => h.fetch('/v1/chat/completions', { json: chatBody('hi', over) });

  it('max_tokens and max_completion_tokens above limits.maxTokensMax', async () => {
    await refused(await chat({ max_tokens: 101 }), 400, 'invalid_request', 'max_tokens');
    await refused(await chat({ max_completion_tokens: 101 }), 400, 'invalid_request', 'max_completion_tokens');
    expect((await chat({ max_tokens: 100 })).status).toBe(200);
  });

  it('more messages than limits.messagesMax', async () => {
    const messages = Array.from({ length: 9 }, () => ({ role: 'user', content: 'x' }));
    await refused(await h.fetch('/v1/chat/completions', { json: { model: 'echo', messages } }), 400, 'invalid_request', 'messages');
    expect((await h.fetch('/v1/chat/completions', { json: { model: 'echo', messages: messages.slice(1) } })).status).toBe(200);
  });

  it('a prompt estimated above limits.promptTokensMax → context_length_exceeded', async () => {
    await refused(await h.fetch('/v1/chat/completions', { json: chatBody('x'.repeat(4100)) }), 400, 'context_length_exceeded', 'messages');
    await refused(await h.fetch('/v1/completions', { json: { model: 'echo', prompt: 'y'.repeat(4100) } }), 400, 'context_length_exceeded', 'prompt');
  });

  it('too many stop strings, or one too long', async () => {
    await refused(await chat({ stop: ['a', 'b', 'c'] }), 400, 'invalid_request', 'stop');
    await refused(await chat({ stop: 'z'.repeat(17) }), 400, 'invalid_request', 'stop');
    await refused(await chat({ stop: ['ok', 'z'.repeat(17)] }), 400, 'invalid_request', 'stop');
    expect((await chat({ stop: ['a', 'b'] })).status).toBe(200);
  });

  it('n other than 1, and a body above limits.bodyLimitBytes', async () => {
    await refused(await chat({ n: 3 }), 400, 'unsupported_parameter', 'n'); // refused by name as not supported (issue 17)
    const r = await h.fetch('/v1/chat/completions', { json: chatBody('q'.repeat(70 * 1024)) });
    expect(r.status).toBe(413);
    expect((await r.json()).error.code).toBe('body_too_large');
  });

  /** Opens a raw connection and resolves with what the server sent before closing it. */
  function rawExchange(drip: (s: Socket) => void): Promise<{ text: string; closedAfterMs: number }> {
    const u = new URL(h.url);
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const s = connect(Number(u.port), u.hostname, () => drip(s));
      let text = '';
      s.setEncoding('utf8').on('data', (c: string) => (text += c));
      s.once('error', (err) => (text.length > 0 ? undefined : reject(err)));
      s.once('close', () => resolve({ text, closedAfterMs: Date.now() - t0 }));
      setTimeout(() => s.destroy(), 20_000).unref();
    });
  }

  it('slow loris: headers dribbled in slower than limits.headersTimeoutMs → 408 and the connection closed', async () => {
    const { text, closedAfterMs } = await rawExchange((s) => {
      const head = `GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_KEY}\r\nx-padding: `;
      s.write(head);
      const timer = setInterval(() => (s.writable ? s.write('a') : clearInterval(timer)), 100);
      s.once('close', () => clearInterval(timer));
    });
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(15_000);
  });

  it('slow loris: a body dribbled in slower than limits.receiveTimeoutMs → 408 and the connection closed', async () => {
    const { text } = await rawExchange((s) => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_KEY}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{"model":"echo",`);
      const timer = setInterval(() => (s.writable ? s.write(' ') : clearInterval(timer)), 100);
      s.once('close', () => clearInterval(timer));
    });
    expect(text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle connection that never sends a request is closed', async () => {
    const { closedAfterMs } = await rawExchange(() => undefined);
    expect(closedAfterMs).toBeLessThan(15_000);
  });
});
