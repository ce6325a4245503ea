// Several open loops at once, merged in arrival order: e.g. one per tenant, each with its own rate
// profile (a steady tenant beside a bursting one: the fairness scenario). Part i draws from its own
// streams (seed/workload/mix/i) and names its requests m<i>r<n>, so parts never share an id and adding
// a part does not change the others' requests. Equal arrival times go in part order.
import { deriveSeed, type Seed } from '../rng/rng.js';
import { OpenLoopWorkload, validateOpenLoop } from './open-loop.js';
import { WorkloadError, type ArrivalSource, type MixConfig, type SimRequest } from './types.js';

export const MIX_PARTS_MAX = 64;

export function validateMix(c: MixConfig): MixConfig {
  if (c?.type !== 'mix') throw new WorkloadError('type', `must be 'mix', got ${JSON.stringify(c?.type)}`);
  if (!Array.isArray(c.parts) || c.parts.length === 0 || c.parts.length > MIX_PARTS_MAX) throw new WorkloadError('parts', `must hold 1 to ${MIX_PARTS_MAX} open loops`);
  c.parts.forEach((p, i) => {
    try {
      validateOpenLoop(p);
    } catch (e) {
      if (e instanceof WorkloadError) throw new WorkloadError(`parts[${i}].${e.field}`, e.reason);
      throw e;
    }
    if (p.model !== c.model) throw new WorkloadError(`parts[${i}].model`, `must be the mix's model ${JSON.stringify(c.model)}, got ${JSON.stringify(p.model)}`);
  });
  const longest = Math.max(...c.parts.map((p) => p.durationMs));
  if (c.durationMs !== longest) throw new WorkloadError('durationMs', `must be the longest part's duration (${longest}), got ${c.durationMs}`);
  return c;
}

export class MixedWorkload implements ArrivalSource {
  private readonly parts: OpenLoopWorkload[];
  private readonly heads: (SimRequest | undefined)[];

  constructor(c: MixConfig, seed: Seed) {
    validateMix(c);
    this.parts = c.parts.map((p, i) => new OpenLoopWorkload(p, deriveSeed(seed, `workload/mix/${i}`), `m${i}r`));
    this.heads = this.parts.map((p) => p.next());
  }

  next(): SimRequest | undefined {
    let best = -1;
    for (let i = 0; i < this.heads.length; i++) {
      const h = this.heads[i];
      if (h !== undefined && (best < 0 || h.arrivalMs < this.heads[best]!.arrivalMs)) best = i;
    }
    if (best < 0) return undefined;
    const out = this.heads[best]!;
    this.heads[best] = this.parts[best]!.next();
    return out;
  }
}
