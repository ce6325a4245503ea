// The process metrics and the bare /metrics server of a process without HTTP (the worker node's
// --metrics-address), issue 18.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PROCESS_METRIC } from '../gateway/metrics-names.js';
import { parseHostPort, registerProcessMetrics, serveMetrics } from './process-metrics.js';

describe('serveMetrics', () => {
  it('answers GET /metrics with the process metrics of its registry, anything else 404', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const server = await serveMetrics(registry, '127.0.0.1', 0);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      for (const name of Object.values(PROCESS_METRIC)) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses an address in use', async () => {
    const a = await serveMetrics(new Registry(), '127.0.0.1', 0);
    try {
      const port = Number(new URL(a.url).port);
      await expect(serveMetrics(new Registry(), '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await a.close();
    }
  });
});

describe('parseHostPort', () => {
  it('reads host:port and [v6]:port, and nothing else', () => {
    expect(parseHostPort('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseHostPort('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseHostPort('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['9464', 'host:', 'host:99999', 'unix:///tmp/x.sock', '::1:9464']) expect(parseHostPort(bad), bad).toBeUndefined();
  });
});
