// Faults end to end: client disconnects, timeouts, slow clients, workers dying before and during a
// stream, unhealthy workers, graceful shutdown.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { API_KEY, chatBody, startHarness, until, type JsonResponse } from './test-harness.js';

const SLOW = { tokenDelayMs: 50, firstTokenDelayMs: 0 };

async function firstChunk(res: JsonResponse): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; text: string }> {
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('"content":"') || text.includes('"content":""') && !/"content":"[^"]/.test(text)) {
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

describe('faults', () => {
  it('a client disconnecting mid-stream sends Cancel to the worker', async () => {
    const h = await startHarness({ workers: [SLOW] });
    try {
      const ac = new AbortController();
      const res = await h.fetch('/v1/chat/completions', { json: chatBody('a b c d e f g h i j k l m n o p', { stream: true }), signal: ac.signal });
      const { reader } = await firstChunk(res);
      const id = h.workers[0]!.requestIds.at(-1)!;
      ac.abort();
      await reader.cancel().catch(() => undefined);
      await until(() => h.workers[0]!.cancelledIds.includes(id));
      await until(() => h.gw.core.activeCount() === 0);
      expect(h.gw.core.outcomes.byOutcome.cancelled).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('a worker that dies before sending tokens: the request is retried on the other worker and succeeds', async () => {
    const h = await startHarness({ workers: [{ firstTokenDelayMs: 10_000 }, { firstTokenDelayMs: 10_000 }] });
    try {
      const pending = h.fetch('/v1/chat/completions', { json: chatBody('survive the crash', { temperature: 0.5 }) });
      await until(() => h.workers.some((w) => w.counters.requests === 1), 10_000);
      const victim = h.workers.find((w) => w.counters.requests === 1)!;
      const other = h.workers.find((w) => w !== victim)!;
      other.firstTokenDelayMs = 0;
      victim.kill();
      const res = await pending;
      expect(res.status).toBe(200);
      expect((await res.json()).choices[0].message.content).toBe('survive the crash');
      expect(other.counters.requests).toBe(1);
      expect(await h.metric(METRIC.retries)).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('a stream already under way when its worker dies ends with an SSE error event, then [DONE]', async () => {
    const h = await startHarness({ workers: [SLOW, SLOW] });
    try {
      const res = await h.fetch('/v1/chat/completions', { json: chatBody('one two three four five six seven eight nine ten', { stream: true }) });
      expect(res.status).toBe(200);
      const { reader, text } = await firstChunk(res);
      h.workers.find((w) => w.counters.requests === 1)!.kill();
      const all = text + (await rest(reader));
      const events = all.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
      expect(events.at(-1)).toBe('[DONE]');
      const err = JSON.parse(events.at(-2)!);
      expect(err.error).toMatchObject({ code: 'worker_error', type: 'server_error' });
      expect(h.workers.reduce((n, w) => n + w.counters.requests, 0)).toBe(1); // never retried after tokens
    } finally {
      await h.close();
    }
  });

  it('a request past limits.requestTimeoutMs gets 504 and the worker a Cancel', async () => {
    const h = await startHarness({ workers: [{ firstTokenDelayMs: 5000, tokenDelayMs: 10 }], config: { limits: { requestTimeoutMs: 200 } } });
    try {
      const res = await h.fetch('/v1/chat/completions', { json: chatBody('too slow') });
      expect(res.status).toBe(504);
      expect((await res.json()).error.code).toBe('request_timeout');
      await until(() => h.workers[0]!.cancelledIds.length === 1);
    } finally {
      await h.close();
    }
  });

  it('a client that stops reading a stream is cancelled once its unread bytes pass sseBufferBytesMax', async () => {
    const h = await startHarness({ workers: [{ tokenDelayMs: 1, repeatToMaxTokens: true }], config: { limits: { sseBufferBytesMax: 64 * 1024 } } });
    try {
      const u = new URL(h.url);
      const body = JSON.stringify(chatBody('y'.repeat(50_000), { stream: true, max_tokens: 2000 }));
      const socket = connect(Number(u.port), u.hostname);
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      socket.pause(); // never read
      await until(() => h.workers[0]!.cancelledIds.length === 1, 15_000);
      expect(await h.metric(METRIC.slowClientCancels)).toBe(1);
      socket.destroy();
    } finally {
      await h.close();
    }
  });

  it('readiness follows worker health from the Stats poll', async () => {
    const h = await startHarness();
    try {
      expect((await h.fetch('/ready', { key: null })).status).toBe(200);
      h.workers[0]!.unhealthy = true;
      await until(async () => (await h.fetch('/ready', { key: null })).status === 503);
      expect(await h.metric(METRIC.workerHealthy, { worker: 'w1' })).toBe(0);
      const r = await h.fetch('/v1/chat/completions', { json: chatBody('nobody home') });
      expect(r.status).toBe(503);
      expect((await r.json()).error.code).toBe('no_healthy_worker');
      h.workers[0]!.unhealthy = false;
      await until(async () => (await h.fetch('/ready', { key: null })).status === 200);
    } finally {
      await h.close();
    }
  });

  it('graceful shutdown lets an in-flight stream finish and refuses new connections', async () => {
    const h = await startHarness({ workers: [SLOW] });
    const res = await h.fetch('/v1/chat/completions', { json: chatBody('finish me before you go please', { stream: true }) });
    const { reader, text } = await firstChunk(res);
    const stopped = h.gw.stop();
    await new Promise((r) => setTimeout(r, 20));
    const refused = await h.fetch('/v1/models').then((r) => r.status, () => 'refused');
    expect(refused === 'refused' || refused === 503).toBe(true);
    const all = text + (await rest(reader));
    expect(all.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(all).not.toContain('"error"');
    await stopped;
    await h.close();
  });
});
