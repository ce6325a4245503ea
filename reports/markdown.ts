// report.md: the run's metadata, a summary of all scenarios, then per scenario its headline, the
// comparison table, the runs, notes, the capacity table and links to the chart SVGs and specs.

import type { ResultRow } from './result.js';
import type { ReportMeta, RenderedScenario } from './model.js';
import { capacityTable, comparisonTable, runsTable, summaryTable, verdictText, type Table } from './tables.js';
import { errorCodesTable, liveInfoText, repetitionsTable } from './repetitions.js';

/** The comparison table (metric, unit, baseline, candidate, ratio, target, pass/fail, shortfall). */
export function renderMarkdownTable(rows: readonly ResultRow[]): string {
  return markdownTable(comparisonTable(rows));
}

export function markdownTable(table: Table): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${table.align.map((a) => (a === 'right' ? '---:' : '---')).join('|')}|`;
  return [line(table.header), rule, ...table.rows.map(line)].join('\n') + '\n';
}

export function renderMarkdownReport(scenarios: readonly RenderedScenario[], meta: ReportMeta): string {
  const parts = ['# mlx-serving report', metaLines(meta), '## Summary', markdownTable(summaryTable(scenarios.map((s) => s.result)))];
  for (const s of scenarios) parts.push(scenarioSection(s));
  return parts.join('\n\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function metaLines(meta: ReportMeta): string {
  const lines = [`- command: ${code(meta.command)}`];
  if (meta.generatedAt !== undefined) lines.push(`- generated at: ${text(meta.generatedAt)}`);
  if (meta.gitRevision !== undefined) lines.push(`- git revision: ${code(meta.gitRevision)}`);
  return lines.join('\n');
}

function scenarioSection({ result, charts }: RenderedScenario): string {
  const parts = [
    `## ${text(result.title)} (${code(result.scenario)})`,
    block(result.description),
    `- mode: ${result.mode}\n- seed: ${result.seed}${liveInfoText(result) !== null ? `\n- ${text(liveInfoText(result)!)}` : ''}`,
    `**${text(verdictText(result))}**`,
    '### Comparison',
    result.rows.length > 0 ? markdownTable(comparisonTable(result.rows)) : '_No comparison rows._',
    '### Runs',
    markdownTable(runsTable(result)),
  ];
  const errs = errorCodesTable(result);
  if (errs !== null) {
    const reps = result.live?.repetitions.count ?? 1;
    parts.push('### Failures by code', `Requests that did not succeed, by the code the client saw${reps > 1 ? `, summed over the ${reps} repetitions` : ''} (rejected: HTTP 429/503; failed: any other error, a broken stream or a timeout).`, markdownTable(errs));
  }
  const reps = repetitionsTable(result);
  if (reps !== null) parts.push('### Repetitions', 'Each figure per repetition (b→c: baseline ran first), the paired ratio candidate ÷ baseline, and min / median / max; the tables above hold the medians.', markdownTable(reps));
  if (result.notes.length > 0) parts.push('### Notes', result.notes.map((n) => `- ${text(n)}`).join('\n'));
  if (result.capacity.length > 0) parts.push('### Capacity', markdownTable(capacityTable(result.capacity)));
  if (charts.length > 0) {
    parts.push('### Charts', charts.map((c) => `- [${text(c.title)}](${c.svgPath}) ([Vega-Lite spec](${c.specPath}))`).join('\n'));
  }
  return parts.join('\n\n');
}

/** A table cell: pipes escaped, line breaks flattened. */
function cell(value: string): string {
  return text(value).replace(/\|/g, '\\|');
}

/** Free text on one line. */
function text(value: string): string {
  return block(value.replace(/\r?\n/g, ' '));
}

/** Free text, line breaks kept; a "<" that would open an HTML tag is escaped. */
function block(value: string): string {
  return value.replace(/<(?=[A-Za-z/!?])/g, '&lt;');
}

/** An inline code span that survives backticks inside the value. */
function code(value: string): string {
  const flat = value.replace(/\r?\n/g, ' ');
  const longestRun = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longestRun + 1);
  return longestRun === 0 ? `${fence}${flat}${fence}` : `${fence} ${flat} ${fence}`;
}
