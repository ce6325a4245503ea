// The Prometheus rules (issue 18): `promtool check rules` and `promtool test rules` on the committed
// files, and a real Prometheus (the Debian package's binary) scraping a live test gateway with an echo
// worker and evaluating the committed rules, read back through Prometheus's HTTP API.
// promtool and prometheus come from the vitest global set-up (live/shared/test-prereqs.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../live/gateway/metrics-names.js';
import { ADMIN_KEY, chatBody, startHarness, until, type Harness } from '../../live/gateway/test-harness.js';
import { DEPLOY_DIR, RULES_FILE } from '../promql-names.js';

const TESTS_DIR = join(DEPLOY_DIR, 'prometheus', 'tests');

function promtool(args: string[], cwd = DEPLOY_DIR): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('promtool', () => {
  it('check rules: the rules file is valid', () => {
    const r = promtool(['check', 'rules', RULES_FILE]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.out).toBe(0);
  });

  it('check rules: refuses a broken expression (the check is real)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlx-rules-'));
    try {
      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - record: x:y\n        expr: sum(rate(a[5m])\n');
      expect(promtool(['check', 'rules', bad]).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('test rules: every unit test file passes', () => {
    const files = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.test.yml'));
    expect(files.length).toBeGreaterThan(0);
    const r = promtool(['test', 'rules', ...files], TESTS_DIR);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface PromVector { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
interface PromAlerts { status: string; data: { alerts: { labels: Record<string, string>; state: string }[] } }

describe('a real Prometheus scraping a test gateway', () => {
  let h: Harness;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  let promLog = '';

  beforeAll(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'mlx-prom-'));
    const target = new URL(h.url).host;
    // The gateway's /metrics takes any API key; the job name is the one the rules' `up` alert uses.
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(RULES_FILE)}]`,
      'scrape_configs:',
      '  - job_name: mlx-serving-gateway',
      `    authorization: { credentials: ${JSON.stringify(ADMIN_KEY)} }`,
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      '',
    ].join('\n'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr?.on('data', (b: Buffer) => { promLog = `${promLog}${b.toString()}`.slice(-4000); });
    await until(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 30_000, 100);
  }, 60_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<PromVector['data']['result']> {
    const body = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json() as PromVector;
    expect(body.status).toBe('success');
    return body.data.result;
  }

  it('scrapes the gateway, records mlx_serving:workers_healthy:sum = 1, and fires MlxServingWorkerDown when the worker dies', async () => {
    const res = await h.fetch('/v1/chat/completions', { json: chatBody('prometheus', { max_tokens: 4 }) });
    expect(res.status).toBe(200);
    // the scrape: `up` and a gateway series, with the job's labels
    await until(async () => (await query('up{job="mlx-serving-gateway"}'))[0]?.value[1] === '1', 20_000, 200);
    expect((await query(METRIC.kvWatermarkRatio))[0]?.value[1]).toBe('0.8');
    // a recording rule evaluated by Prometheus over the scraped series
    await until(async () => (await query('mlx_serving:workers_healthy:sum'))[0]?.value[1] === '1', 20_000, 200).catch((err: unknown) => {
      throw new Error(`recording rule never appeared; prometheus log:\n${promLog}`, { cause: err });
    });
    // an alerting rule: the echo worker dies, its heartbeats stop, the gateway reports it unhealthy
    // and the alert goes pending (it fires after `for: 1m`, longer than a test should wait)
    for (const w of h.workers) w.kill();
    await until(async () => {
      const body = await (await fetch(`${promUrl}/api/v1/alerts`)).json() as PromAlerts;
      return body.data.alerts.some((a) => a.labels.alertname === 'MlxServingWorkerDown' && a.labels.worker === 'w1' && a.state === 'pending');
    }, 30_000, 250);
  }, 90_000);
});
