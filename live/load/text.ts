// Deterministic prompt text: turns the simulator's synthetic prompt ids ("synthetic:hot3:412") into
// English-looking text of about that many tokens. The same id and seed give the same text, so
// duplicates stay byte-identical (what dedupe, the response cache and coalescing key on) and a
// session's turns repeat their earlier messages exactly (what the prompt cache reuses).
//   words = round(tokens / TOKENS_PER_WORD)
// TOKENS_PER_WORD was measured with the project's BPE tokenizer (python/mlx_runtime/build_model.py,
// tiny and small sizes) on 1,000 words drawn from WORDS: 1.247 tokens per word.

/** Tokens per word of WORDS under the project's tokenizer (measured; see the header). */
export const TOKENS_PER_WORD = 1.25;
/** Bound on one generated message (the simulator's own bound on a prompt is 262 144 tokens). */
export const TEXT_TOKENS_MAX = 262_144;

// The most frequent words of the corpus the tokenizer was trained on (python/mlx_runtime/corpus).
const WORDS = (
  'the and in to was liked of from you about wind came down one near every counted it talk listen old them there were have seen ' +
  'asked said small at bridge quiet garden kate workshop samuel early henry late tessa ada mill edith peter grace school forest ' +
  'path leo kitchen that library shepherd mara tired has iris lighthouse victor miller olive behind house baker harbour bell after ' +
  'clara railway station noah quinn northern hills village square water captain felix river bank daniel bread rosa orchard sailor ' +
  'market meadow ben strange curious warm is before wendy distant dusk young teacher clerk james three morning brave gentle heavy ' +
  'narrow silver clever cold sea busy because sleepy bright year honest wondered through so careful night than listened patient ' +
  'golden map violin what simple sun slept rested laughed chapter message paused during long winter can tell me something course ' +
  'thank else should know noon loaf hundred once on candle rises walked home door hurried rain waited spring supper road painting ' +
  'sunday compass two ten sang softly flower smiled lantern song worked rivers while coat later when rang clock by time tide turned ' +
  'wooden promise painted window although basket cleaned letters question horse triangle sides corners letter trees grow new ring ' +
  'wood story opened found carried kept noticed wrote kettle box until boat sound travels faster air borrowed storm week seven days ' +
  'twelve months harvest apples described clocks east sets west book boils degrees celsius level ladder sold ice lighter floats ' +
  'returned watched key built weather read moon reflects'
).split(' ');

/** FNV-1a (32 bit) of a string. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG returning [0, 1). */
function mulberry32(a: number): () => number {
  let s = a >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Text of about `tokens` tokens, a pure function of (key, seed, tokens). */
export function textOfTokens(key: string, seed: number, tokens: number): string {
  if (!(tokens >= 1)) throw new Error(`textOfTokens: tokens must be >= 1, got ${tokens}`);
  const n = Math.max(1, Math.round(Math.min(tokens, TEXT_TOKENS_MAX) / TOKENS_PER_WORD));
  const rng = mulberry32(hash32(key, seed));
  const out: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = WORDS[Math.floor(rng() * WORDS.length)]!;
  return out.join(' ');
}
