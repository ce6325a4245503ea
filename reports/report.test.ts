// Report rendering: every file is written, SVG and HTML are well formed and offline, the numbers of
// the fixture appear where they should, and rendering twice gives the same bytes.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary, ScenarioResult } from './result.js';
import { renderConsoleTable, renderMarkdownTable, writeReport } from './index.js';

function run(policy: string, tokPerS: number, ttftScale: number, extra: Record<string, number>): RunSummary {
  const pct = (p50: number) => ({ p50, p95: p50 * 2, p99: p50 * 3, max: p50 * 4, mean: p50 * 1.2 });
  return {
    policy,
    workers: 4,
    requests: 1000,
    succeeded: 990,
    failed: 6,
    rejected: 4,
    durationMs: 60_000,
    outputTokens: 120_000,
    outputTokPerS: tokPerS,
    successRate: 0.99,
    ttftMs: pct(100 * ttftScale),
    itlMs: pct(20),
    e2eMs: pct(2000 * ttftScale),
    queueMs: pct(5),
    extra,
    cdf: {
      ttftMs: [[50 * ttftScale, 0.1], [100 * ttftScale, 0.5], [200 * ttftScale, 0.95], [400 * ttftScale, 1]],
      e2eMs: [[1000 * ttftScale, 0.1], [2000 * ttftScale, 0.5], [4000 * ttftScale, 1]],
      itlMs: [[10, 0.2], [20, 0.5], [40, 1]],
    },
    timeline: [0, 1, 2, 3].map((i) => ({ tMs: i * 1000, outputTokPerS: tokPerS * (0.8 + i * 0.1), inFlight: 10 + i })),
  };
}

const fixture: ScenarioResult = {
  scenario: 'cache-aware-routing',
  title: 'Cache-aware routing <vs> round robin & friends',
  description: 'Shared-prefix chat load on 4 workers.',
  mode: 'sim',
  seed: 42,
  baseline: run('round-robin', 1000, 1.2, { cacheHits: 10, prefixCacheHitRate: 0.12 }),
  candidate: run('cache-aware', 1230, 1, { cacheHits: 400, prefixCacheHitRate: 0.61, tokensSaved: 52_000 }),
  rows: [
    { metric: 'output throughput', unit: 'tok/s', baseline: 1000, candidate: 1230, ratio: 1.23, target: '≥ 1.10× baseline', pass: true, shortfall: null },
    { metric: 'TTFT p95', unit: 'ms', baseline: 240, candidate: 230.04, ratio: 0.9585, target: '≤ 0.80× baseline', pass: false, shortfall: 'ratio 0.96, needs 0.80 (−19.8 %)' },
    { metric: 'prefix cache hit rate', unit: 'rate', baseline: 0.12, candidate: 0.61, ratio: 5.083, target: null, pass: null, shortfall: null },
  ],
  curves: [
    {
      name: 'Throughput vs workers',
      xLabel: 'workers',
      yLabel: 'output tok/s',
      points: [1, 2, 4].flatMap((x) => [
        { series: 'round-robin', x, y: 300 * x },
        { series: 'cache-aware', x, y: 370 * x },
      ]),
    },
  ],
  capacity: [
    {
      useCase: 'chat',
      model: 'llama-3.1-8b-4bit',
      hardware: 'M2 Ultra 192GB',
      targetRps: 20,
      documentWorkers: 8,
      formulaWorkers: 6,
      formulaWorkersWithHeadroom: 8,
      simulatedWorkers: 7,
      simulatedTtftP95Ms: 412.34,
      simulatedItlP95Ms: 31.26,
      rooflineDecodeTokPerS: 87.64,
      calibration: { runtime: 'mlx', why: 'fitted on this size class' },
      bands: [{ calibration: 'mlx', workers: 7 }, { calibration: 'mlx-lm-0.31', workers: null }, { calibration: 'physical lower bound', workers: 4 }],
      sensitivity: [{ assumption: 'prefill 20 % faster', workers: 6 }, { assumption: 'prompts 20 % longer', workers: 9 }],
      seedSpread: { seeds: [1, 2, 3], workers: [7, 6, 8], min: 6, median: 7, max: 8 },
      note: 'document assumes 2× the measured decode rate',
    },
  ],
  passed: false,
  notes: ['Latency model calibrated on M2 Ultra; <b>not</b> HTML.'],
};

const meta = { command: 'npm run scenario -- cache-aware-routing', generatedAt: '2026-01-01T00:00:00Z', gitRevision: 'abc1234' };

/** A minimal XML well-formedness check: tags balance, attributes quoted, only XML entities. */
function checkWellFormed(doc: string): void {
  const body = doc.replace(/^<!DOCTYPE[^>]*>/i, '');
  const stack: string[] = [];
  const token = /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*"|\s+[\w:.-]+='[^'<]*')*)\s*(\/?)>|<|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|&/g;
  for (const m of body.matchAll(token)) {
    const [all, close, name, , selfClose] = m;
    if (all === '<') throw new Error(`stray or malformed tag at ${m.index}: ${body.slice(m.index, m.index + 80)}`);
    if (all === '&') throw new Error(`bare & at ${m.index}`);
    if (all.startsWith('&') && !/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(all)) throw new Error(`non-XML entity ${all}`);
    if (name === undefined || selfClose === '/') continue;
    if (close === '/') {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}> at ${m.index}`);
    } else stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(' > ')}`);
}

describe('writeReport', () => {
  let dirA = '';
  let dirB = '';
  let filesA: string[] = [];
  let filesB: string[] = [];
  const read = (rel: string) => readFile(join(dirA, rel), 'utf8');

  beforeAll(async () => {
    dirA = await mkdtemp(join(tmpdir(), 'report-a-'));
    dirB = await mkdtemp(join(tmpdir(), 'report-b-'));
    filesA = (await writeReport([fixture], dirA, meta)).files.map((f) => relative(dirA, f));
    filesB = (await writeReport([fixture], dirB, meta)).files.map((f) => relative(dirB, f));
  });
  afterAll(async () => {
    await rm(dirA, { recursive: true, force: true });
    await rm(dirB, { recursive: true, force: true });
  });

  it('writes results, Markdown, HTML and a spec + SVG per chart', async () => {
    const charts = ['curve-throughput-vs-workers', 'cdf-ttft', 'cdf-e2e', 'cdf-itl', 'extras', 'timeline', 'capacity'];
    const expected = ['results.json', 'report.md', 'index.html', ...charts.flatMap((c) => [`charts/cache-aware-routing-${c}.vl.json`, `charts/cache-aware-routing-${c}.svg`])];
    expect([...filesA].sort()).toEqual([...expected].sort());
    for (const f of filesA) expect((await read(f)).length).toBeGreaterThan(0);
    expect(JSON.parse(await read('results.json'))).toEqual([fixture]);
    const spec = JSON.parse(await read('charts/cache-aware-routing-curve-throughput-vs-workers.vl.json'));
    expect(spec.$schema).toContain('vega-lite');
    expect(spec.data.values).toHaveLength(6);
  });

  it('renders well-formed SVGs that name the scenario and its numbers', async () => {
    for (const f of filesA.filter((f) => f.endsWith('.svg'))) {
      const svg = (await read(f)).trim();
      expect(svg.startsWith('<svg'), f).toBe(true);
      expect(svg.endsWith('</svg>'), f).toBe(true);
      checkWellFormed(svg);
      expect(svg, f).toContain('cache-aware-routing:');
    }
    const curve = await read('charts/cache-aware-routing-curve-throughput-vs-workers.svg');
    expect(curve).toContain('Throughput vs workers');
    expect(curve).toContain('round-robin');
    expect(curve).toContain('workers: 4; output tok/s: 1480; series: cache-aware'); // a point's aria-label
    const extras = await read('charts/cache-aware-routing-extras.svg');
    expect(extras).toContain('tokensSaved');
    expect(extras).toContain('61.0 %'); // prefixCacheHitRate 0.61 as a percentage label
    const capacity = await read('charts/cache-aware-routing-capacity.svg');
    expect(capacity).toContain('simulated workers');
  });

  it('renders an offline, well-formed HTML index with every table and chart', async () => {
    const html = await read('index.html');
    checkWellFormed(html);
    expect(html).not.toMatch(/<script|<link|<iframe|<img/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(html.replace(/\sxmlns(:\w+)?="[^"]*"/g, '')).not.toMatch(/https?:/); // SVG namespaces are names, not fetches
    expect(html).toContain('1.23×');
    expect(html).toContain('Cache-aware routing &lt;vs&gt; round robin &amp; friends');
    expect(html).toContain('&lt;b&gt;not&lt;/b&gt;');
    expect(html).toContain('2026-01-01T00:00:00Z');
    expect(html.match(/<svg/g)).toHaveLength(7);
    expect(html).toContain('412.3 ms');
    const summary = html.slice(html.indexOf('<h2>Summary</h2>'), html.indexOf('<section'));
    expect(summary).toContain('href="#scenario-cache-aware-routing"');
    expect(summary).toContain('✗ FAIL');
    expect(summary).toContain('output throughput 1.23×');
    // ids were scoped per chart, so inlined SVGs cannot clash
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes report.md with the failing row and its shortfall, capacity and chart links', async () => {
    const md = await read('report.md');
    expect(md).toContain('| TTFT p95 | ms | 240.0 | 230.0 | 0.96× | ≤ 0.80× baseline | ✗ FAIL | ratio 0.96, needs 0.80 (−19.8 %) |');
    expect(md).toContain('| prefix cache hit rate | rate | 12.0 % | 61.0 % | 5.08× | — | — |  |');
    expect(md).toContain('**FAIL — 1 of 2 targets missed: TTFT p95**');
    expect(md).toContain('| chat | llama-3.1-8b-4bit | M2 Ultra 192GB | 20 | 8 | 6 (8) | 7 | mlx: fitted on this size class | mlx 7; mlx-lm-0.31 —; physical lower bound 4 | prefill 20 % faster: 6; prompts 20 % longer: 9 | 6–7–8 (3 seeds) | 412.3 ms | 31.3 ms | 87.6 |');
    expect(md).toContain('(charts/cache-aware-routing-cdf-ttft.svg)');
    expect(md).toContain('- seed: 42');
  });

  it('gives byte-identical files when rendered twice', async () => {
    expect(filesB).toEqual(filesA);
    for (const f of filesA) expect(await readFile(join(dirB, f)), f).toEqual(await readFile(join(dirA, f)));
  });
});

describe('writeReport with little data', () => {
  it('skips charts without data, gives clashing scenario names distinct slugs, renders without a baseline', async () => {
    const empty: RunSummary = { ...run('solo', 10, 1, {}), cdf: { ttftMs: [], e2eMs: [], itlMs: [[Number.NaN, 1]] }, timeline: [] };
    const bare: ScenarioResult = { ...fixture, baseline: null, candidate: empty, curves: [{ name: 'none', xLabel: 'x', yLabel: 'y', points: [] }], capacity: [], rows: [], passed: true };
    const dir = await mkdtemp(join(tmpdir(), 'report-bare-'));
    try {
      const { files } = await writeReport([bare, { ...bare, scenario: 'Cache aware routing!' }], dir, { command: 'x' });
      expect(files.map((f) => relative(dir, f))).toEqual(['results.json', 'report.md', 'index.html']);
      const html = await readFile(join(dir, 'index.html'), 'utf8');
      checkWellFormed(html);
      expect(html).toContain('id="scenario-cache-aware-routing"');
      expect(html).toContain('id="scenario-cache-aware-routing-2"');
      expect(html).not.toContain('generated at');
      const md = await readFile(join(dir, 'report.md'), 'utf8');
      expect(md).toContain('_No comparison rows._');
      expect(md).toContain('PASS — no gated targets');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('tables', () => {
  it('renderMarkdownTable renders a header, alignment rule and one line per row', () => {
    const md = renderMarkdownTable(fixture.rows);
    const lines = md.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe('|---|---|---:|---:|---:|---|---|---|');
    expect(lines[2]).toContain('| output throughput | tok/s | 1000.0 | 1230.0 | 1.23× |');
  });

  it('renderConsoleTable aligns columns and marks pass/fail', () => {
    const text = renderConsoleTable(fixture);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toContain('cache-aware-routing (sim, seed 42): FAIL');
    expect(lines[1]).toMatch(/^metric\s+baseline\s+candidate\s+ratio\s+target\s+pass$/);
    expect(lines[3]).toMatch(/output throughput .*1230\.0 tok\/s\s+1\.23×\s+≥ 1\.10× baseline\s+✓$/);
    expect(lines[4]).toMatch(/TTFT p95 .*230\.0 ms\s+0\.96×\s+≤ 0\.80× baseline\s+✗$/);
    // the ratio column ends at the same place on every row
    const ratioEnd = (l: string) => l.indexOf('×') + 1;
    expect(ratioEnd(lines[3] ?? '')).toBe(ratioEnd(lines[4] ?? ''));
  });
});
