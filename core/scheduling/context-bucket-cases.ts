// The conformance table between context-buckets.ts and the python runtime's length_buckets.py:
// edge texts (valid and not) and bucket choices. `npm run gen:conformance` writes it.
import { bucketOf, parseContextBuckets } from './context-buckets.js';

export const CONTEXT_BUCKET_CASES_PATH = 'python/tests/data/context_bucket_cases.json';

export interface ContextBucketCases {
  readonly parse: readonly { readonly text: string; readonly edges: readonly number[] | null }[];
  readonly bucket: readonly { readonly edges: readonly number[]; readonly promptTokens: number; readonly bucket: number }[];
}

const TEXTS = ['', ' ', '2048', '1024,4096', ' 512 , 1024 ', '512,1024,2048,4096', '0', '-5', '1024,256', '512,512', 'abc', '1.5',
  '0x10', '+5', '1_000', '1e3', '2048,', ',2048', '1024,,4096', '９'];

export function contextBucketCases(): ContextBucketCases {
  const parse = TEXTS.map((text) => {
    try {
      return { text, edges: parseContextBuckets(text) };
    } catch {
      return { text, edges: null };
    }
  });
  const bucket = [];
  for (const edges of [[], [2048], [1024, 4096], [512, 1024, 2048, 4096]]) {
    for (const promptTokens of [0, 1, 511, 512, 513, 1024, 1025, 2048, 2049, 4096, 4097, 100_000]) bucket.push({ edges, promptTokens, bucket: bucketOf(edges, promptTokens) });
  }
  return { parse, bucket };
}
