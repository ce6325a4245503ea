// reports/reference keeps what is compared and read (results.json, report.md, SVG charts), not the
// generated HTML pages or Vega-Lite specs (reports/reference/README.md).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('reports/reference', () => {
  it('holds no generated HTML page or Vega-Lite spec', () => {
    const all = files('reports/reference');
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((f) => f.endsWith('.html') || f.endsWith('.vl.json'))).toEqual([]);
  });
});
