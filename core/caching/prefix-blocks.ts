// Prompt prefix blocks, as in the Mooncake trace format: the prompt is cut into fixed-size blocks and
// each block gets a hash *chained* with the previous block's, so block i's hash identifies the whole
// prefix up to i. Two prompts share a prefix exactly as far as their block lists agree, which is what
// prefix-aware routing and the workers' prompt caches can reuse.
// Live prompts are cut by characters (the gateway has not tokenised yet); the simulator uses token
// blocks. Only the equality of hashes matters, so either unit works as long as one cluster uses one.
import { fnv1a32 } from '../util/hash.js';

export const PREFIX_BLOCK_CHARS = 256;

export function prefixBlocksOfText(text: string, blockChars = PREFIX_BLOCK_CHARS, blocksMax = 256): number[] {
  const out: number[] = [];
  let prev = 0x811c9dc5;
  for (let start = 0; start + blockChars <= text.length && out.length < blocksMax; start += blockChars) {
    prev = fnv1a32(text.slice(start, start + blockChars), prev);
    out.push(prev);
  }
  return out;
}
