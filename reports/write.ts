// writeReport: renders a run of scenarios into a folder — results.json, report.md, index.html and,
// per chart, charts/<scenario>-<chart>.vl.json and .svg. Deterministic: the same results and meta
// give byte-identical files (nothing is taken from the clock or the environment).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScenarioResult } from './result.js';
import { chartsFor } from './charts.js';
import { uniqueSlugs } from './format.js';
import { renderHtml } from './html.js';
import { renderMarkdownReport } from './markdown.js';
import type { RenderedChart, RenderedScenario, ReportMeta } from './model.js';
import { renderSvg } from './svg.js';

const CHARTS_DIR = 'charts';

export async function writeReport(results: readonly ScenarioResult[], outDir: string, meta: ReportMeta): Promise<{ files: string[] }> {
  await mkdir(join(outDir, CHARTS_DIR), { recursive: true });
  const files: string[] = [];
  const write = async (relPath: string, content: string): Promise<void> => {
    const path = join(outDir, relPath);
    await writeFile(path, content, 'utf8');
    files.push(path);
  };

  await write('results.json', `${JSON.stringify(results, null, 2)}\n`);
  const slugs = uniqueSlugs(results.map((r) => r.scenario));
  const scenarios: RenderedScenario[] = [];
  for (const [i, result] of results.entries()) {
    const slug = slugs[i] ?? String(i);
    const charts: RenderedChart[] = [];
    // One chart at a time: vega's id counters are process-wide (see svg.ts).
    for (const chart of chartsFor(result)) {
      const base = `${CHARTS_DIR}/${slug}-${chart.id}`;
      const svg = await renderSvg(chart.spec, `${slug}-${chart.id}`);
      await write(`${base}.vl.json`, `${JSON.stringify(chart.spec, null, 2)}\n`);
      await write(`${base}.svg`, `${svg}\n`);
      charts.push({ title: chart.title, svgPath: `${base}.svg`, specPath: `${base}.vl.json`, svg });
    }
    scenarios.push({ result, slug, charts });
  }
  await write('report.md', renderMarkdownReport(scenarios, meta));
  await write('index.html', renderHtml(scenarios, meta));
  return { files };
}
