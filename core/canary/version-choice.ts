// The weighted choice of a model's version, sticky per session (issue 19, canaries).
//
// A request's key — its session id when it has one, else its request id — is hashed to a point u in
// [0, 1) (FNV-1a, then the murmur3 finaliser to spread similar keys); the versions' weights are laid
// end to end on [0, W) in their configured order and the version whose interval holds u·W serves it.
// The same session therefore keeps its version for as long as the weights do not change, and no
// random number is drawn (the core's rng stream, and every existing scenario, stay as they were).
// Over many keys each version gets weight / W of the requests.
import { fnv1a32, mix32 } from '../util/hash.js';

export interface WeightedVersion {
  readonly version: string;
  /** ≥ 0; 0 = no traffic (a rolled-back canary). */
  readonly weight: number;
}

/** The point in [0, 1) of a routing key. */
export function keyPoint(key: string): number {
  return mix32(fnv1a32(key)) / 4294967296;
}

/**
 * The version at `point` ∈ [0, 1) of the weights laid end to end; undefined when every weight is 0
 * (or the list is empty).
 */
export function versionAt(versions: readonly WeightedVersion[], point: number): string | undefined {
  let total = 0;
  for (const v of versions) total += v.weight;
  if (total <= 0) return undefined;
  const x = point * total;
  let acc = 0;
  let last: string | undefined;
  for (const v of versions) {
    if (v.weight <= 0) continue;
    acc += v.weight;
    last = v.version;
    if (x < acc) return v.version;
  }
  return last; // rounding at the very end of [0, W)
}

/** The version serving a request with this session id (sticky) or, without one, this request id. */
export function chooseVersion(versions: readonly WeightedVersion[], sessionId: string | undefined, requestId: string): string | undefined {
  return versionAt(versions, keyPoint(sessionId !== undefined ? `s:${sessionId}` : `r:${requestId}`));
}
