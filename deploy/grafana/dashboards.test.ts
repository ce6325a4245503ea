// The Grafana dashboards (issue 18): the committed JSON is what dashboards.ts generates, every panel
// expression parses as PromQL, and every metric it reads is one the gateway exports (declared in
// metrics-names.ts and present in a real scrape of a test gateway) or a recording rule of
// deploy/prometheus/rules. The same check for the rules' own expressions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, PROCESS_METRIC } from '../../live/gateway/metrics-names.js';
import { ADMIN_KEY, chatBody, startHarness, type Harness } from '../../live/gateway/test-harness.js';
import { loadRules, parseLabelValuesQuery, parsePromql, scrapedLabels, scrapedSampleNames, withoutGrafanaVariables, type ParsedPromql } from '../promql-names.js';
import { dashboards, GRAFANA_DIR, render } from './dashboards.js';

interface PanelJson { title?: string; type: string; targets?: { expr: string }[]; gridPos: { x: number; y: number; w: number; h: number } }
interface DashboardJson { uid: string; title: string; panels: PanelJson[]; templating: { list: { type: string; query?: unknown }[] } }

const generated = dashboards();
const committed = Object.fromEntries(
  readdirSync(GRAFANA_DIR).filter((f) => f.endsWith('.json')).map((f) => [f, readFileSync(join(GRAFANA_DIR, f), 'utf8')]),
);

/** [where, expression] for every query of every dashboard: panel targets and variable queries. */
function expressions(): { where: string; expr: string; variable: boolean }[] {
  const out: { where: string; expr: string; variable: boolean }[] = [];
  for (const [file, text] of Object.entries(committed)) {
    const d = JSON.parse(text) as DashboardJson;
    for (const p of d.panels) for (const t of p.targets ?? []) out.push({ where: `${file} / ${p.title}`, expr: t.expr, variable: false });
    for (const v of d.templating.list) if (v.type === 'query') out.push({ where: `${file} / variable`, expr: String(v.query), variable: true });
  }
  return out;
}

const declared = new Set<string>([...Object.values(METRIC), ...Object.values(PROCESS_METRIC)]);
/** A sample name's family: histograms are declared without their _bucket/_sum/_count suffix. */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

describe('the PromQL check itself', () => {
  it('finds the metric of every selector and reports syntax errors', () => {
    expect(parsePromql('histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="y"}[5m]))) / on (i) group_left b + c:d').names).toEqual(['a_bucket', 'b', 'c:d']);
    expect(parsePromql('sum(rate(a[5m])').errors).not.toEqual([]);
    expect(parsePromql('rate(a[$__rate_interval])').errors).not.toEqual([]);
    expect(parseLabelValuesQuery('label_values(m{instance=~"$instance"}, worker)').names).toEqual(['m']);
    expect(parsePromql('sum(rate(a{x="1", y!~"b|c"}[5m]))').matchers).toEqual([{ metric: 'a', label: 'x', op: '=', value: '1' }, { metric: 'a', label: 'y', op: '!~', value: 'b|c' }]);
  });
});

describe('grafana dashboards', () => {
  it('the committed JSON is what dashboards.ts generates (run `npx tsx deploy/grafana/dashboards.ts`)', () => {
    expect(Object.keys(committed).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, d] of Object.entries(generated)) expect(committed[file], file).toBe(render(d));
  });

  it('covers the fleet, cache/dedupe/coalescing, batching, workers, rolling restarts, KV and SLOs', () => {
    const titles = Object.values(committed).map((t) => (JSON.parse(t) as DashboardJson).title);
    for (const word of ['Fleet', 'Cache', 'Batching', 'Worker health', 'Rolling', 'KV', 'SLO']) expect(titles.join('|')).toContain(word);
    const uids = Object.values(committed).map((t) => (JSON.parse(t) as DashboardJson).uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('lays its panels out on the 24-column grid without overlaps', () => {
    for (const [file, text] of Object.entries(committed)) {
      const panels = (JSON.parse(text) as DashboardJson).panels;
      for (const [i, a] of panels.entries()) {
        expect(a.gridPos.x + a.gridPos.w, `${file} / ${a.title}`).toBeLessThanOrEqual(24);
        for (const b of panels.slice(i + 1)) {
          const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `${file}: ${a.title} overlaps ${b.title}`).toBe(false);
        }
      }
    }
  });

  it('every expression parses as PromQL and reads only declared metrics or recording rules', () => {
    const records = new Set(loadRules().records.map((r) => r.name));
    const all = expressions();
    expect(all.length).toBeGreaterThan(50);
    for (const { where, expr, variable } of all) {
      const parsed = variable ? parseLabelValuesQuery(expr) : parsePromql(withoutGrafanaVariables(expr));
      expect(parsed.errors, `${where}: ${expr}`).toEqual([]);
      // a threshold line (vector(14.4)) is the only expression allowed to read no metric
      if (!/^vector\([\d.]+\)$/.test(expr)) expect(parsed.names.length, `${where}: ${expr} reads no metric`).toBeGreaterThan(0);
      for (const name of parsed.names) {
        expect(records.has(name) || declared.has(family(name)) || declared.has(name), `${where}: ${name} in ${expr}`).toBe(true);
      }
    }
  });
});

describe('metric names against a real scrape of a test gateway', () => {
  let h: Harness;
  let scraped: Set<string>;
  let labels: Map<string, Map<string, Set<string>>>;
  beforeAll(async () => {
    h = await startHarness();
    // one streamed completion, so that the labelled families have samples too
    const res = await h.fetch('/v1/chat/completions', { json: chatBody('hello metrics', { stream: true, max_tokens: 4 }) });
    await res.text();
    const text = await (await h.fetch('/metrics', { key: ADMIN_KEY })).text();
    scraped = scrapedSampleNames(text);
    labels = scrapedLabels(text);
  });
  afterAll(() => h.close());

  it('the gateway exports every name of metrics-names.ts', () => {
    for (const name of declared) expect(scraped.has(name) || scraped.has(`${name}_count`), name).toBe(true);
  });

  it('every metric a dashboard reads is scraped or recorded', () => {
    const records = new Set(loadRules().records.map((r) => r.name));
    for (const { where, expr, variable } of expressions()) {
      const parsed = variable ? parseLabelValuesQuery(expr) : parsePromql(withoutGrafanaVariables(expr));
      for (const name of parsed.names) expect(scraped.has(name) || records.has(name), `${where}: ${name}`).toBe(true);
    }
  });

  /** Each label matched on is one the metric carries, and each value listed is one it takes. */
  function checkMatchers(where: string, parsed: ParsedPromql): void {
    // instance and job are added by Prometheus at scrape time; a recording rule's labels are its own
    const added = new Set(['instance', 'job']);
    const records = new Set(loadRules().records.map((r) => r.name));
    for (const m of parsed.matchers) {
      if (added.has(m.label) || records.has(m.metric)) continue;
      const seen = labels.get(m.metric)?.get(m.label);
      expect(seen, `${where}: ${m.metric} has no label ${m.label}`).toBeDefined();
      // worker values depend on the fleet; a literal (=, !=) or a regex that is an alternation of plain
      // words (not a pattern like 5..): each value is one the gateway exports
      if (m.label === 'worker') continue;
      const literal = m.op === '=' || m.op === '!=';
      if (!literal && !/^[\w-]+(\|[\w-]+)*$/.test(m.value)) continue;
      for (const v of literal ? [m.value] : m.value.split('|')) expect([...(seen ?? [])], `${where}: ${m.metric}{${m.label}="${v}"}`).toContain(v);
    }
  }

  it('every label a dashboard or a rule matches on is one its metric carries, and every listed value one it takes', () => {
    for (const { where, expr, variable } of expressions()) checkMatchers(where, variable ? parseLabelValuesQuery(expr) : parsePromql(withoutGrafanaVariables(expr)));
    const { records, alerts } = loadRules();
    for (const r of [...records, ...alerts]) checkMatchers(r.name, parsePromql(r.expr));
  });

  it('every metric a rule reads is scraped, recorded, or Prometheus\'s own `up`', () => {
    const { records, alerts } = loadRules();
    const recorded = new Set(records.map((r) => r.name));
    for (const r of [...records, ...alerts]) {
      const parsed = parsePromql(r.expr);
      expect(parsed.errors, r.name).toEqual([]);
      for (const name of parsed.names) expect(scraped.has(name) || recorded.has(name) || name === 'up', `${r.name}: ${name}`).toBe(true);
    }
  });
});
