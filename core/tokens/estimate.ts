// The one prompt-token estimate, for text no tokenizer has seen yet: ceil(UTF-8 bytes / 3).
//
// The gateway estimates before a worker is chosen (rate limits, the early context-length check) and
// the worker node before its runtime tokenizes (the KV it reserves); the runtime counts exactly and
// reports the count in its answer. Both estimates were once different (characters / 4 in the gateway,
// bytes / 3 in the worker); one rule now. Why bytes / 3: byte-level BPE tokenizers give 3.5–4.5 bytes
// per token on English and fewer on code or other scripts (CJK is ~3 bytes per character, often one
// token each), so bytes / 3 errs high for a KV reservation — the side that must not run out — and stays
// close for the other uses. Characters / 4 counted a CJK prompt at a quarter of its tokens.

/** UTF-8 bytes per token the estimate assumes. */
export const BYTES_PER_TOKEN_ESTIMATE = 3;

/** UTF-8 length of a string without encoding it (a lone surrogate counts 3, as TextEncoder writes U+FFFD). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Estimated tokens of `bytes` UTF-8 bytes (at least 1 for a non-empty text). */
export function estimateTokensOfBytes(bytes: number): number {
  return Math.ceil(bytes / BYTES_PER_TOKEN_ESTIMATE);
}

/** Estimated tokens of a text. */
export function estimateTokens(text: string): number {
  return estimateTokensOfBytes(utf8Length(text));
}
