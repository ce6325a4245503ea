// What the Markdown and HTML renderers receive: each scenario's result with its charts already
// rendered, and the run's metadata. Paths are relative to the report folder.

import type { ScenarioResult } from './result.js';

export interface ReportMeta {
  /** The command that produced the results, shown verbatim. */
  readonly command: string;
  /** Shown when given; never filled in from the clock, so output stays reproducible. */
  readonly generatedAt?: string;
  readonly gitRevision?: string;
}

export interface RenderedChart {
  readonly title: string;
  /** "charts/<scenario>-<chart>.svg" */
  readonly svgPath: string;
  /** "charts/<scenario>-<chart>.vl.json" */
  readonly specPath: string;
  readonly svg: string;
}

export interface RenderedScenario {
  readonly result: ScenarioResult;
  /** Unique among the report's scenarios; used for file names and HTML anchors. */
  readonly slug: string;
  readonly charts: readonly RenderedChart[];
}
