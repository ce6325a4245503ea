// Context-length buckets of the python runtime (--context-buckets, MLX_RUNTIME_CONTEXT_BUCKETS;
// python/mlx_runtime/length_buckets.py): one mlx-lm BatchGenerator per range of prompt length, so a
// decode step reads KV padded to its bucket's longest sequence. The simulator charges the same layout
// (sim/worker/padded-decode.ts). Which bucket a sequence goes to, and which edges are valid, are
// decided here once; the python port is kept equal by the conformance table
// python/tests/data/context_bucket_cases.json (`npm run gen:conformance`).

const EDGE = /^\s*\d+\s*$/;

/** Why `edges` are not valid bucket edges (increasing positive integers), or undefined when they are. */
export function contextBucketsError(edges: readonly number[]): string | undefined {
  const bad = edges.some((b, i) => !Number.isSafeInteger(b) || b <= 0 || (i > 0 && b <= edges[i - 1]!));
  return bad ? `context buckets must be increasing positive integers like 2048 or 1024,4096, got ${edges.join(',')}` : undefined;
}

/** '2048' or '1024,4096' -> increasing upper edges; '' or undefined -> [] (one batch). Throws on anything else. */
export function parseContextBuckets(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [];
  const parts = text.split(',');
  const edges = parts.map((p) => (EDGE.test(p) ? Number(p.trim()) : Number.NaN));
  if (contextBucketsError(edges) !== undefined) throw new Error(`context buckets must be increasing positive integers like 2048 or 1024,4096, got ${JSON.stringify(text)}`);
  return edges;
}

/** The bucket of a sequence with `promptTokens`: the first edge >= it (the last bucket, past every edge, is open). */
export function bucketOf(edges: readonly number[], promptTokens: number): number {
  let b = 0;
  while (b < edges.length && promptTokens > edges[b]!) b++;
  return b;
}
