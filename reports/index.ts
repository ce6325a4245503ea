// The public API of reports/: render scenario results into Markdown, Vega-Lite charts (specs + SVG)
// and an offline HTML index, plus the tables the scenario runner prints.
export { writeReport } from './write.js';
export type { ReportMeta } from './model.js';
export { renderMarkdownTable } from './markdown.js';
export { renderConsoleTable } from './console-table.js';
export { chartsFor, type ChartSpec } from './charts.js';
export { renderSvg } from './svg.js';
