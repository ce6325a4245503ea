// index.html: one self-contained page (no scripts, no external CSS, fonts or images; the chart SVGs
// are inlined) with a summary of all scenarios at the top and, per scenario, every table and chart.
// Written as well-formed XML (void elements self-closed, only XML entities) so it parses strictly too.

import type { ReportMeta, RenderedChart, RenderedScenario } from './model.js';
import { escapeHtml as esc } from './format.js';
import { capacityTable, comparisonTable, runsTable, summaryTable, verdictText, type Table } from './tables.js';
import { liveInfoText, repetitionsTable } from './repetitions.js';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.25rem; }
table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td { background: #fde8e8; }
.verdict { font-weight: bold; padding: 0.25rem 0.5rem; display: inline-block; border-radius: 4px; }
.verdict.pass { background: #e3f6e3; color: #165016; }
.verdict.fail { background: #fde8e8; color: #8a1212; }
.meta { color: #555; }
section.scenario { border-top: 2px solid #ddd; margin-top: 2rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #555; }
`;

export function renderHtml(scenarios: readonly RenderedScenario[], meta: ReportMeta): string {
  const summary = summaryTable(scenarios.map((s) => s.result));
  const anchors = scenarios.map((s) => `#scenario-${s.slug}`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
    '<title>mlx-serving report</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>mlx-serving report</h1>',
    metaBlock(meta),
    '<h2>Summary</h2>',
    htmlTable(summary, anchors),
    ...scenarios.map(scenarioSection),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function metaBlock(meta: ReportMeta): string {
  const items = [`<li>command: <code>${esc(meta.command)}</code></li>`];
  if (meta.generatedAt !== undefined) items.push(`<li>generated at: ${esc(meta.generatedAt)}</li>`);
  if (meta.gitRevision !== undefined) items.push(`<li>git revision: <code>${esc(meta.gitRevision)}</code></li>`);
  return `<ul class="meta">\n${items.join('\n')}\n</ul>`;
}

function scenarioSection({ result, slug, charts }: RenderedScenario): string {
  const verdictClass = result.passed ? 'pass' : 'fail';
  const parts = [
    `<section class="scenario" id="scenario-${esc(slug)}">`,
    `<h2>${esc(result.title)} <code>${esc(result.scenario)}</code></h2>`,
    ...result.description.split(/\n\s*\n/).map((p) => `<p>${esc(p)}</p>`),
    `<p class="meta">mode: ${esc(result.mode)} · seed: ${esc(String(result.seed))}${liveInfoText(result) !== null ? ` · ${esc(liveInfoText(result)!)}` : ''}</p>`,
    `<p><span class="verdict ${verdictClass}">${esc(verdictText(result))}</span></p>`,
    '<h3>Comparison</h3>',
    result.rows.length > 0 ? htmlTable(comparisonTable(result.rows)) : '<p><em>No comparison rows.</em></p>',
    '<h3>Runs</h3>',
    htmlTable(runsTable(result)),
  ];
  const reps = repetitionsTable(result);
  if (reps !== null) parts.push('<h3>Repetitions</h3>', htmlTable(reps));
  if (result.notes.length > 0) parts.push('<h3>Notes</h3>', `<ul>\n${result.notes.map((n) => `<li>${esc(n)}</li>`).join('\n')}\n</ul>`);
  if (result.capacity.length > 0) parts.push('<h3>Capacity</h3>', htmlTable(capacityTable(result.capacity)));
  if (charts.length > 0) parts.push('<h3>Charts</h3>', ...charts.map(figure));
  parts.push('</section>');
  return parts.join('\n');
}

function figure(chart: RenderedChart): string {
  return [
    '<figure>',
    chart.svg,
    `<figcaption>${esc(chart.title)} — <a href="${esc(chart.svgPath)}">SVG</a> · <a href="${esc(chart.specPath)}">Vega-Lite spec</a></figcaption>`,
    '</figure>',
  ].join('\n');
}

/** firstColumnLinks: per row, where the first cell links to (the summary links to each section). */
function htmlTable(table: Table, firstColumnLinks: readonly string[] = []): string {
  const head = `<tr>${table.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row, i) => {
    const cls = table.failing[i] === true ? ' class="fail"' : '';
    const link = firstColumnLinks[i];
    const cells = row.map((c, j) => {
      const content = j === 0 && link !== undefined ? `<a href="${esc(link)}">${esc(c)}</a>` : esc(c);
      return `<td${table.align[j] === 'right' ? ' class="num"' : ''}>${content}</td>`;
    });
    return `<tr${cls}>${cells.join('')}</tr>`;
  });
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}
