// Failures itemised by code (issue 15): the load client takes the code from the server's error body
// or stream error (else http_<status>, timeout, …), LoadMetrics counts them by code and kind, and a
// live result's report shows them in a "Failures by code" table.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMarkdownReport } from '../../reports/markdown.js';
import { errorCodesTable } from '../../reports/repetitions.js';
import type { ScenarioResult } from '../../reports/result.js';
import { sumErrorCodes } from '../../scenarios/live/live-run.js';
import { streamChat } from './client.js';
import { LoadMetrics } from './metrics.js';

let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const what = req.url ?? '';
    if (what.endsWith('/queue_full')) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"busy","type":"server_overloaded","code":"queue_full","param":null}}');
    else if (what.endsWith('/worker_error')) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"The worker failed the request.","type":"server_error","code":"worker_error","param":null}}');
    else if (what.endsWith('/plain')) res.writeHead(500).end('oops');
    else if (what.endsWith('/stream_error')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n');
      res.end('data: {"error":{"message":"kv","code":"kv_capacity"}}\n\n');
    } else if (what.endsWith('/cut')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n');
    } else if (what.endsWith('/slow')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      setTimeout(() => res.end(), 2_000);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\n');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => {
  server.closeAllConnections();
  server.close(() => r());
}));

const call = (path: string, timeoutMs = 5_000) => streamChat({ url: `${url}/${path}`, model: 'm', messages: [{ role: 'user', content: 'hi' }], maxTokens: 4, temperature: 0, timeoutMs });

describe('failures by code', () => {
  it('the client names each failure by the code the server gave, else by what happened', async () => {
    const got = await Promise.all(['queue_full', 'worker_error', 'plain', 'stream_error', 'cut', 'ok'].map((p) => call(p)));
    expect(got.map((o) => [o.kind, o.code])).toEqual([
      ['rejected', 'queue_full'], ['failed', 'worker_error'], ['failed', 'http_500'], ['failed', 'kv_capacity'], ['failed', 'stream_incomplete'], ['ok', undefined],
    ]);
    const slow = await call('slow', 200);
    expect([slow.kind, slow.code]).toEqual(['failed', 'timeout']);
    const refused = await streamChat({ url: 'http://127.0.0.1:1/v1', model: 'm', messages: [{ role: 'user', content: 'hi' }], maxTokens: 1, temperature: 0, timeoutMs: 2_000 });
    expect(refused.code).toBe('network_error');
  });

  it('LoadMetrics counts them by code and kind; the live report shows a table of them', async () => {
    const m = new LoadMetrics(performance.now(), 1000);
    for (const p of ['queue_full', 'queue_full', 'worker_error', 'stream_error', 'ok']) {
      m.sent(performance.now());
      m.finished(await call(p));
    }
    const codes = m.errorCodeCounts();
    expect(codes).toEqual([
      { code: 'queue_full', failed: 0, rejected: 2 },
      { code: 'kv_capacity', failed: 1, rejected: 0 },
      { code: 'worker_error', failed: 1, rejected: 0 },
    ]);
    const s = m.summary('cand', 1, 1000);
    expect([s.failed, s.rejected, s.succeeded]).toEqual([2, 2, 1]);
    // two repetitions add up
    const summed = sumErrorCodes([...codes, { code: 'worker_error', failed: 3, rejected: 0 }]);
    expect(summed[0]).toEqual({ code: 'worker_error', failed: 4, rejected: 0 });

    const result = {
      scenario: 'phase2-mixed', title: 'Phase 2', description: 'd', mode: 'live', seed: 1, baseline: s, candidate: s, rows: [], curves: [], capacity: [], passed: false, notes: [],
      live: {
        profile: 'gpu', profileReason: 'r', model: 'gpu-1b', devices: { baseline: 'gpu', candidate: 'gpu' },
        repetitions: { count: 1, runs: [], spread: { baseline: {}, candidate: {}, ratio: {} } },
        errors: { baseline: [], candidate: summed },
      },
    } satisfies ScenarioResult;
    const table = errorCodesTable(result)!;
    expect(table.header).toEqual(['side', 'code', 'failed', 'rejected', 'total']);
    expect(table.rows[0]).toEqual(['candidate', 'worker_error', '4', '0', '4']);
    const md = renderMarkdownReport([{ slug: 'phase2-mixed', result, charts: [] }], { command: 'x' });
    expect(md).toContain('### Failures by code');
    expect(md).toMatch(/\| candidate \| queue_full \| +0 \| +2 \| +2 \|/);
    expect(JSON.parse(JSON.stringify(result)).live.errors.candidate[0].code).toBe('worker_error');
    // a live result without failures (or from before issue 15) has no such table
    expect(errorCodesTable({ ...result, live: { ...result.live, errors: { baseline: [], candidate: [] } } })).toBeNull();
  });
});
