// The extra figures of a canary scenario (catalog/canary.ts), from what the simulated cluster recorded
// (sim/cluster/cluster.ts CanaryLog): per version, the rollbacks the gateway core decided and when,
// its share of the dispatches over the run and, for a promoted version, after its promotion.
import type { CanaryLog } from '../sim/cluster/cluster.js';
import type { CanaryDef } from './define.js';
import { round3 } from '../reports/format.js';

export function figures(log: CanaryLog, def: CanaryDef, promoted: boolean): Record<string, number> {
  const versions = [...new Set(def.workerVersions)];
  const out: Record<string, number> = {};
  const total = log.dispatches.reduce((a, d) => a + d.count, 0);
  for (const v of versions) {
    const rollbacks = log.rollbacks.filter((r) => r.version === v);
    out[`canaryRollbacks.${v}`] = rollbacks.length;
    if (rollbacks.length > 0) out[`canaryRollbackAtS.${v}`] = round3(rollbacks[0]!.atMs / 1000);
    out[`dispatchShare.${v}`] = round3(share(log, v, 0, total));
  }
  for (const p of promoted ? (def.promotions ?? []) : []) {
    const after = log.dispatches.filter((d) => d.atMs >= p.atMs).reduce((a, d) => a + d.count, 0);
    out[`dispatchShareAfterPromotion.${p.version}`] = round3(share(log, p.version, p.atMs, after));
  }
  return out;
}

/** Share of the dispatches from `fromMs` on that went to `version` (`<model>@<version>`). */
function share(log: CanaryLog, version: string, fromMs: number, total: number): number {
  if (total === 0) return 0;
  let n = 0;
  for (const d of log.dispatches) if (d.atMs >= fromMs && d.model.endsWith(`@${version}`)) n += d.count;
  return n / total;
}
