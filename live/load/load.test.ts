// The load generator against an in-process SSE server: parsing, timing, sessions, duplicates,
// open and closed loops, and the RunSummary it produces.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedLoopConfig, OpenLoopConfig } from '../../sim/workload/types.js';
import { arrivalsOf } from '../../scenarios/live/arrivals.js';
import { runLoad, SseParser, textOfTokens } from './index.js';

interface Seen {
  readonly body: { messages: { role: string; content: string }[]; max_tokens: number; temperature: number; stream: boolean };
  readonly session: string | undefined;
}

let server: Server;
let baseUrl = '';
const seen: Seen[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += String(c);
  return s;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const body = JSON.parse(raw) as Seen['body'];
      const session = req.headers['x-session-id'];
      seen.push({ body, session: typeof session === 'string' ? session : undefined });
      if (body.messages[0]!.content.startsWith('fail')) {
        res.writeHead(503).end('{"error":"busy"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keepalive\n\n');
      let i = 0;
      const tick = setInterval(() => {
        if (i < body.max_tokens) {
          res.write(`data: {"choices":[{"index":0,"delta":{"content":" t${i}"}}]}\r\n\r\n`);
          i++;
          return;
        }
        clearInterval(tick);
        res.write(`data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${body.max_tokens}}}\n\n`);
        res.end('data: [DONE]\n\n');
      }, 2);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const CONTENT = {
  model: 'm',
  promptTokens: { type: 'lognormal', meanTokens: 40, cv: 0.5, minTokens: 8, maxTokens: 100 },
  outputTokens: { type: 'uniform', minTokens: 3, maxTokens: 6 },
  temperature: 0.7,
} as const;

describe('SseParser', () => {
  it('joins data lines, skips comments, handles CRLF and split chunks', () => {
    const p = new SseParser();
    expect(p.push(': ping\n\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\r\n\r\ndata: x\ndata: y\n\ndata: [DO')).toEqual(['{"a":1}', 'x\ny']);
    expect(p.push('NE]\n\n')).toEqual(['[DONE]']);
  });

  it('bounds an event', () => {
    expect(() => new SseParser(10).push('data: 0123456789abcdef')).toThrow(/larger than 10 bytes/);
  });
});

describe('textOfTokens', () => {
  it('is a pure function of key, seed and length', () => {
    expect(textOfTokens('k', 1, 50)).toBe(textOfTokens('k', 1, 50));
    expect(textOfTokens('k', 1, 50)).not.toBe(textOfTokens('k', 2, 50));
    expect(textOfTokens('k', 1, 100).split(' ').length).toBe(80);
  });
});

describe('runLoad', () => {
  it('closed loop: measures every request, sends sessions with growing messages and duplicates identically', async () => {
    seen.length = 0;
    const w: ClosedLoopConfig = {
      type: 'closed', ...CONTENT, users: 3, thinkTime: { type: 'fixed', ms: 5 }, rampUpMs: 10, durationMs: 600,
      turnsPerSession: { type: 'fixed', tokens: 3 }, userTokens: { type: 'fixed', tokens: 10 }, duplicates: { ratio: 0.3, hotSetSize: 2, zipfExponent: 1 },
    };
    const r = await runLoad({ target: { name: 'fake', baseUrl, model: 'm', workers: 1 }, arrivals: arrivalsOf(w, 5), seed: 5, requestTimeoutMs: 5000, drainMs: 5000 });
    const s = r.summary;
    expect(s.requests).toBe(seen.length);
    expect(s.succeeded).toBe(s.requests);
    expect(s.successRate).toBe(1);
    expect(s.outputTokPerS).toBeGreaterThan(0);
    expect(s.ttftMs.p50).toBeGreaterThan(0);
    expect(s.itlMs.p50).toBeGreaterThan(0);
    expect(s.e2eMs.p95).toBeGreaterThanOrEqual(s.ttftMs.p95 * 0.5);
    expect(s.cdf.ttftMs.length).toBe(100);
    expect(s.outputTokens).toBe(seen.reduce((a, x) => a + x.body.max_tokens, 0));
    // Later turns resend the conversation: user, assistant (the answer received), user.
    const later = seen.filter((x) => x.body.messages.length === 3);
    expect(later.length).toBeGreaterThan(0);
    expect(later[0]!.body.messages[1]!.role).toBe('assistant');
    expect(later[0]!.body.messages[1]!.content).toMatch(/^ t0 t1/);
    expect(later[0]!.session).toBeDefined();
    // Duplicates: temperature 0, no session, and identical text for the same hot prompt.
    const dups = seen.filter((x) => x.body.temperature === 0);
    expect(dups.length).toBeGreaterThan(0);
    expect(dups.every((x) => x.session === undefined && x.body.messages.length === 1)).toBe(true);
    expect(new Set(dups.map((x) => x.body.messages[0]!.content)).size).toBeLessThanOrEqual(2);
  });

  it('open loop: sends at the arrival times and counts rejections', async () => {
    seen.length = 0;
    const w: OpenLoopConfig = { type: 'open', ...CONTENT, rate: { type: 'constant', rps: 50 }, arrival: { type: 'poisson' }, durationMs: 400 };
    const r = await runLoad({ target: { name: 'fake', baseUrl, model: 'm', workers: 1 }, arrivals: arrivalsOf(w, 9), seed: 9, requestTimeoutMs: 5000, drainMs: 5000 });
    expect(r.summary.requests).toBeGreaterThan(5);
    expect(r.summary.requests).toBe(seen.length);
    expect(r.summary.timeline.length).toBeGreaterThan(0);
  });

  it('a server that refuses: rejected requests, a clear error count', async () => {
    const w: OpenLoopConfig = { type: 'open', ...CONTENT, rate: { type: 'constant', rps: 50 }, arrival: { type: 'poisson' }, durationMs: 200 };
    const r = await runLoad({ target: { name: 'dead', baseUrl: 'http://127.0.0.1:1', model: 'm', workers: 1 }, arrivals: arrivalsOf(w, 9), seed: 9, requestTimeoutMs: 2000, drainMs: 2000 });
    expect(r.summary.succeeded).toBe(0);
    expect(r.summary.failed).toBe(r.summary.requests);
    expect(r.errors[0]![0]).toMatch(/fetch failed|ECONNREFUSED/);
  });
});
