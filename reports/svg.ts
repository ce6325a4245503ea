// Renders a Vega-Lite spec to an SVG string headlessly (vega's 'none' renderer: no canvas, no DOM,
// text widths estimated), then scopes the SVG's ids (clip paths, gradients) under a prefix so that
// many SVGs can be inlined into one HTML page without clashing and the same input gives the same bytes.

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  const runtime = vega.parse(compile(spec).spec);
  // vega numbers clip paths and gradients from process-wide counters; restart them per chart.
  vega.resetSVGDefIds();
  const view = new vega.View(runtime, { renderer: 'none', logLevel: vega.Error });
  try {
    return scopeIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/** Prefixes every id="…" and the url(#…) / href="#…" references to it. */
export function scopeIds(svg: string, idPrefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1] ?? ''));
  if (ids.size === 0) return svg;
  const scoped = (id: string): string => (ids.has(id) ? `${idPrefix}-${id}` : id);
  return svg
    .replace(/(\sid=")([^"]+)"/g, (_m, head: string, id: string) => `${head}${scoped(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${scoped(id)})`)
    .replace(/(href=")#([^"]+)"/g, (_m, head: string, id: string) => `${head}#${scoped(id)}"`);
}
