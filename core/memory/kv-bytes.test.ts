// KV bytes per token by precision.
import { describe, expect, it } from 'vitest';
import { KV_BYTES_PER_ELEMENT, kvBytesPerToken } from './kv-bytes.js';

const llama31_8b = { layers: 32, kvHeads: 8, headDim: 128 };

describe('kvBytesPerToken', () => {
  it('Llama-3.1-8B at fp16 is 131,072 B (128 KiB) per token', () => {
    expect(kvBytesPerToken(llama31_8b, 'fp16')).toBe(131_072);
  });
  it('int8 and int4 store 1 and 0.5 bytes per element plus an fp16 scale and bias per group of 64', () => {
    expect(kvBytesPerToken(llama31_8b, 'int8')).toBe(65_536 + 4_096);
    expect(kvBytesPerToken(llama31_8b, 'int4')).toBe(32_768 + 4_096);
  });
  it('is 2 (K and V) × layers × kvHeads × headDim × bytes per element', () => {
    // Llama-3.1-70B: 80 layers, 8 KV heads, head dim 128 → 320 KiB per token at fp16.
    expect(kvBytesPerToken({ layers: 80, kvHeads: 8, headDim: 128 }, 'fp16')).toBe(327_680);
    expect(kvBytesPerToken({ layers: 1, kvHeads: 1, headDim: 1 }, 'fp16')).toBe(2 * KV_BYTES_PER_ELEMENT.fp16);
    expect(KV_BYTES_PER_ELEMENT).toEqual({ fp16: 2, int8: 1.0625, int4: 0.5625 });
  });
});
