// The comparison table as fixed-width text for the terminal (the scenario runner prints it):
// a headline, then metric, baseline, candidate, ratio, target and ✓/✗ per row, numbers right-aligned.

import type { ResultRow, ScenarioResult } from './result.js';
import { formatRatio, formatWithUnit } from './format.js';
import { verdictText } from './tables.js';

const HEADER = ['metric', 'baseline', 'candidate', 'ratio', 'target', 'pass'] as const;
const RIGHT_ALIGNED = new Set([1, 2, 3]);
const GAP = '  ';

export function renderConsoleTable(result: ScenarioResult): string {
  const body = result.rows.map(consoleRow);
  const widths = HEADER.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i] ?? 0, RIGHT_ALIGNED.has(i))).join(GAP).trimEnd();
  const lines = [
    `${result.scenario} (${result.mode}, seed ${result.seed}): ${verdictText(result)}`,
    line(HEADER),
    widths.map((w) => '-'.repeat(w)).join(GAP),
    ...body.map(line),
  ];
  if (body.length === 0) lines.push('(no comparison rows)');
  return lines.join('\n') + '\n';
}

function consoleRow(r: ResultRow): string[] {
  const pass = r.pass === null ? '-' : r.pass ? '✓' : '✗';
  return [r.metric, formatWithUnit(r.baseline, r.unit), formatWithUnit(r.candidate, r.unit), formatRatio(r.ratio), r.target ?? '-', pass];
}

/** Display width in code points (the symbols used here are all one column wide). */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)));
  return right ? fill + text : text + fill;
}
