"""The padded KV cost of a batch (mlx_runtime/kv_accounting.py)."""

from mlx_runtime.kv_accounting import COPY_FACTOR, padded_batch_bytes


def test_empty_batch_costs_nothing():
    assert padded_batch_bytes([], 32768) == 0


def test_every_sequence_costs_the_longest_ones_length_twice_over():
    assert COPY_FACTOR == 2
    assert padded_batch_bytes([100], 10) == 100 * 10 * 2
    # three sequences, the longest 4,000 tokens: 3 x 4,000 positions, not 4,000 + 200 + 50
    assert padded_batch_bytes([200, 4000, 50], 10) == 3 * 4000 * 10 * 2


def test_the_h200_phase_3_batch():
    # 128 sequences, the longest reserving 14k tokens, gpu-1b's 32 KiB per token: 117 GB
    assert padded_batch_bytes([500] * 127 + [14_000], 32768) == 128 * 14_000 * 32768 * 2
