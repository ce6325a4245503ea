import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTES_PER_TOKEN_ESTIMATE, estimateTokens, estimateTokensOfBytes, utf8Length } from './estimate.js';

describe('the prompt-token estimate', () => {
  it('utf8Length is what TextEncoder writes, for any string (lone surrogates included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === new TextEncoder().encode(s).length), { numRuns: 2000 });
    for (const s of ['', 'a', 'é', '€', '漢字', '😀', '\ud800', 'a\udc00b']) expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
  });

  it('is ceil(bytes / 3): ASCII at a third of its length, CJK at about one token per character', () => {
    expect(BYTES_PER_TOKEN_ESTIMATE).toBe(3);
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abc')).toBe(1);
    expect(estimateTokens('abcd')).toBe(2);
    expect(estimateTokens('x'.repeat(4100))).toBe(1367);
    expect(estimateTokens('漢字漢字')).toBe(4);
    expect(estimateTokensOfBytes(10)).toBe(4);
  });
});
