// Jump consistent hash (Lamping & Veach, 2014): maps a key to a bucket in [0, n) so that growing n to
// n+1 moves about 1/(n+1) of keys, all of them to the new bucket, and none between old buckets.
//
// The published algorithm draws its random stream from a 64-bit LCG seeded by the key. The proof only
// needs a deterministic uniform stream per key, so this version uses a 32-bit xorshift-multiply
// generator (no BigInt on the hot path): j = floor((b + 1) / r), r uniform in (0, 1].
import { mix32 } from '../util/hash.js';

export function jumpHash(key: number, buckets: number): number {
  if (buckets <= 0) return -1;
  let state = mix32(key) | 1;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // splitmix32-style step: advance, then mix; r in (0, 1]
    state = (state + 0x9e3779b9) | 0;
    const r = (mix32(state) + 1) / 4294967296;
    j = Math.floor((b + 1) / r);
  }
  return b;
}
