// A live load run's client-side summary (live/load's LoadSummary) as the scenario runner's RunSummary:
// the same fields, so reports, targets and the gate read live and sim runs alike. The compiler checks
// the two stay field-for-field compatible here, the one place live results enter scenarios.
import type { LoadSummary } from '../../live/load/index.js';
import type { RunSummary } from '../../reports/result.js';

export function runSummaryOfLoad(s: LoadSummary): RunSummary {
  return s;
}
