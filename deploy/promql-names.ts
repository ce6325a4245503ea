// Test support for deploy/ (issue 18): the metric names a PromQL expression reads, parsed with the
// Prometheus project's own PromQL grammar (@prometheus-io/lezer-promql, the parser of Prometheus's
// web UI), and the metric families a /metrics scrape declares. Not part of the public API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';

/** Grafana's variables replaced by values PromQL accepts (`$instance` only ever sits in a string). */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');
}

export interface LabelMatcher {
  readonly metric: string;
  readonly label: string;
  /** =, !=, =~ or !~ */
  readonly op: string;
  /** The string literal's value (quotes removed; PromQL escapes are not undone). */
  readonly value: string;
}

export interface ParsedPromql {
  /** Metric names of every vector selector, in order of appearance. */
  readonly names: string[];
  /** The label matchers of every vector selector with a metric name. */
  readonly matchers: LabelMatcher[];
  /** Text of each syntax error the parser recovered from (empty for a valid expression). */
  readonly errors: string[];
}

export function parsePromql(expr: string): ParsedPromql {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const matchers: LabelMatcher[] = [];
  const errors: string[] = [];
  const text = (n: { from: number; to: number } | null | undefined) => (n === null || n === undefined ? '' : expr.slice(n.from, n.to));
  const c = tree.cursor();
  do {
    if (c.type.isError) errors.push(`at ${c.from}: ${JSON.stringify(expr.slice(Math.max(0, c.from - 20), c.to + 20))}`);
    if (c.type.name === 'Identifier' && c.node.parent?.type.name === 'VectorSelector') names.push(text(c.node));
    if (c.type.name === 'UnquotedLabelMatcher') {
      const metric = text(c.node.parent?.parent?.getChild('Identifier'));
      const literal = text(c.node.getChild('StringLiteral'));
      if (metric !== '') matchers.push({ metric, label: text(c.node.getChild('LabelName')), op: text(c.node.getChild('MatchOp')), value: literal.slice(1, -1) });
    }
  } while (c.next());
  return { names, matchers, errors };
}

/** Grafana's `label_values(selector, label)` variable query: the selector, parsed as PromQL. */
export function parseLabelValuesQuery(query: string): ParsedPromql {
  const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\)$/.exec(query);
  if (m === null) return { names: [], matchers: [], errors: [`not a label_values(selector, label) query: ${query}`] };
  return parsePromql(m[1] ?? '');
}

/**
 * The sample names a scrape can carry, from its `# TYPE` lines: a histogram or summary family
 * `x` carries `x_bucket`/`x_sum`/`x_count` (and `x` for a summary's quantiles), a counter or gauge
 * its own name.
 */
export function scrapedSampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, family = '', type] = m;
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${family}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${family}${suffix}`);
    else names.add(family);
  }
  return names;
}

/** metric name → label name → the values a scrape shows (from its sample lines). */
export function scrapedLabels(text: string): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} \S+$/gm)) {
    const [, name = '', body = ''] = m;
    let labels = out.get(name);
    if (labels === undefined) out.set(name, (labels = new Map()));
    for (const l of body.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, label = '', value = ''] = l;
      let values = labels.get(label);
      if (values === undefined) labels.set(label, (values = new Set()));
      values.add(value);
    }
  }
  return out;
}

export const DEPLOY_DIR = import.meta.dirname;
export const RULES_FILE = join(DEPLOY_DIR, 'prometheus', 'rules', 'mlx-serving.rules.yml');

interface RuleFile {
  groups: { name: string; rules: ({ record: string; expr: string } | { alert: string; expr: string })[] }[];
}

/** The recording and alerting rules of deploy/prometheus/rules/mlx-serving.rules.yml. */
export function loadRules(file = RULES_FILE): { records: { name: string; expr: string }[]; alerts: { name: string; expr: string }[] } {
  const doc = parseYaml(readFileSync(file, 'utf8')) as RuleFile;
  const records: { name: string; expr: string }[] = [];
  const alerts: { name: string; expr: string }[] = [];
  for (const g of doc.groups) {
    for (const r of g.rules) {
      if ('record' in r) records.push({ name: r.record, expr: r.expr });
      else alerts.push({ name: r.alert, expr: r.expr });
    }
  }
  return { records, alerts };
}
