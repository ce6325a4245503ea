// What the running sequences' KV costs, by how the engine lays its decode batch out.
// - packed: each sequence holds its own length (a paged or per-sequence KV cache; the simulator's
//   default);
// - padded: mlx-lm's BatchKVCache, which the python runtime's step loops and mlx_lm.server use,
//   keeps every sequence of a model's batch at the longest one's length (left padding) and, merging
//   new prompts in, concatenates into a new buffer while the old one is alive. A model's batch of n
//   sequences whose longest reserves L tokens costs n x L x bytes-per-token x PADDED_COPY_FACTOR.
//   On an H200 that is what ran a runtime admitting by the packed sum out of memory
//   (reports/reference/gpu/README.md). python/mlx_runtime/kv_accounting.py applies the same rule
//   (core/memory/batch-layout.test.ts and python/tests/test_kv_accounting.py check the same figures).
export type BatchLayout = 'packed' | 'padded';

export const PADDED_COPY_FACTOR = 2;

/** One running sequence's reservation: its model and the bytes it holds at its longest. */
export interface Reservation {
  readonly model: string | undefined;
  readonly bytes: number;
}

/** The KV bytes the reservations cost under `layout`. */
export function reservedBytes(layout: BatchLayout, reservations: Iterable<Reservation>): number {
  if (layout === 'packed') {
    let sum = 0;
    for (const r of reservations) sum += r.bytes;
    return sum;
  }
  const byModel = new Map<string | undefined, { n: number; max: number }>();
  for (const r of reservations) {
    const g = byModel.get(r.model);
    if (g === undefined) byModel.set(r.model, { n: 1, max: r.bytes });
    else {
      g.n++;
      g.max = Math.max(g.max, r.bytes);
    }
  }
  let total = 0;
  for (const g of byModel.values()) total += g.n * g.max * PADDED_COPY_FACTOR;
  return total;
}
