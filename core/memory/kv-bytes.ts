// KV-cache bytes per token: keys and values (×2) for every layer and KV head:
//   kvBytesPerToken = 2 × layers × kvHeads × headDim × bytesPerElement(precision)
// fp16 = 2 bytes; int8 and int4 add an fp16 scale and an fp16 bias per group of 64 elements, as MLX's
// quantized KV cache stores them: int8 = 1 + 4/64, int4 = 0.5 + 4/64 bytes per element.
// Example: Llama-3.1-8B (32 layers, 8 KV heads, head dim 128) at fp16 → 131,072 B = 128 KiB/token.
export type KvPrecision = 'fp16' | 'int8' | 'int4';

export const KV_BYTES_PER_ELEMENT: Readonly<Record<KvPrecision, number>> = { fp16: 2, int8: 1 + 4 / 64, int4: 0.5 + 4 / 64 };

export interface KvShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export function kvBytesPerToken(shape: KvShape, precision: KvPrecision): number {
  return 2 * shape.layers * shape.kvHeads * shape.headDim * KV_BYTES_PER_ELEMENT[precision];
}
