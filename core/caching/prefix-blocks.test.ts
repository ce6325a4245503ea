// Chained prefix blocks: block i's hash identifies the whole prefix up to i, so two prompts share a
// prefix of k full blocks exactly when their first k block hashes are equal.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prefixBlocksOfText } from './prefix-blocks.js';

const B = 4; // small blocks keep the generated strings short

/** Number of leading equal elements. */
function commonLead<T>(a: readonly T[], b: readonly T[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

describe('prefixBlocksOfText', () => {
  it('cuts only full blocks, up to blocksMax', () => {
    expect(prefixBlocksOfText('abc', B)).toEqual([]);
    expect(prefixBlocksOfText('abcd', B)).toHaveLength(1);
    expect(prefixBlocksOfText('abcdefg', B)).toHaveLength(1);
    expect(prefixBlocksOfText('abcdefgh', B)).toHaveLength(2);
    expect(prefixBlocksOfText('x'.repeat(100), B, 5)).toHaveLength(5);
    expect(prefixBlocksOfText('x'.repeat(256 * 3))).toHaveLength(3);
  });

  it('is deterministic', () => {
    expect(prefixBlocksOfText('hello world, hello', B)).toEqual(prefixBlocksOfText('hello world, hello', B));
  });

  it('chains: equal block contents at different depths hash differently', () => {
    const [h1, h2] = prefixBlocksOfText('abcdabcd', B);
    expect(h1).not.toBe(h2);
    // Same second block, different first block: the second hashes differ too.
    const x = prefixBlocksOfText('aaaazzzz', B);
    const y = prefixBlocksOfText('bbbbzzzz', B);
    expect(x[1]).not.toBe(y[1]);
  });

  it('a prompt that extends another keeps all of its blocks', () => {
    const base = prefixBlocksOfText('system prompt.. user says hi', B);
    const longer = prefixBlocksOfText('system prompt.. user says hi and more text here', B);
    expect(longer.slice(0, base.length)).toEqual(base);
  });

  it('shared prefix of k full blocks ⇔ equal first k hashes (random prompts)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 24 });
    fc.assert(
      fc.property(text, text, text, (shared, s1, s2) => {
        const t1 = shared + s1;
        const t2 = shared + s2;
        const b1 = prefixBlocksOfText(t1, B);
        const b2 = prefixBlocksOfText(t2, B);
        // Full blocks on which the texts agree character for character.
        const agreeChars = commonLead([...t1], [...t2]);
        const agreeBlocks = Math.min(Math.floor(agreeChars / B), b1.length, b2.length);
        expect(commonLead(b1, b2)).toBe(agreeBlocks);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
