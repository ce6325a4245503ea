"""Stream random bfloat16 weights into a safetensors file, chunk by chunk, on all cores.

Used by build_model for the GPU sizes: an 8 B model is 14 GB of bfloat16, too big to build as
float32 arrays in memory and convert at the end. Each tensor is cut into chunks of rows (about
CHUNK_ELEMS values); chunk (t, c) draws from its own generator, PCG64([seed, t, c]), so the bytes do
not depend on the number of threads. numpy's generators and ufuncs release the GIL on large arrays,
so a thread pool fills the chunks in parallel; the file is written in order with a bounded window of
chunks in flight (memory ~ 2 × threads × CHUNK_ELEMS × 4 bytes).

float32 → bfloat16 rounds to nearest even, as mlx does (checked in tests/test_model_build_gpu.py).
"""

from __future__ import annotations

import json
import os
import struct
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np

CHUNK_ELEMS = 1 << 24  # 16 M values: 64 MB of float32 per chunk
BF16_ONE = 0x3F80


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 array → uint16 bfloat16 bit patterns (round to nearest even; x is overwritten)."""
    u = x.view(np.uint32)
    rounding = (u >> 16) & 1
    rounding += 0x7FFF
    u += rounding
    u >>= 16
    return u.astype(np.uint16)


def _chunk_rows(shape: tuple[int, ...]) -> int:
    cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return max(1, CHUNK_ELEMS // cols)


def _chunks(specs, seed: int, zero_rows: dict[str, list[int]]) -> Iterator[tuple]:
    for t, (name, shape, std) in enumerate(specs):
        rows = shape[0]
        step = _chunk_rows(shape)
        for c, start in enumerate(range(0, rows, step)):
            yield (t, c, shape, std, start, min(rows, start + step), zero_rows.get(name, []), seed)


def _make_chunk(job) -> bytes:
    t, c, shape, std, start, end, zero, seed = job
    sub = (end - start,) + tuple(shape[1:])
    if std is None:
        return np.full(sub, BF16_ONE, dtype=np.uint16).tobytes()
    rng = np.random.Generator(np.random.PCG64([seed, t, c]))
    x = rng.standard_normal(sub, dtype=np.float32)
    x *= np.float32(std)
    for r in zero:
        if start <= r < end:
            x[r - start] = 0.0
    return to_bf16_bits(x).tobytes()


def header_for(specs) -> bytes:
    header: dict = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, shape, _ in specs:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def write_random_bf16(specs, path: Path, seed: int, zero_rows: dict[str, list[int]] | None = None,
                      threads: int | None = None) -> int:
    """Writes `specs` [(name, shape, std | None)] as bfloat16 N(0, std²) (ones when std is None).

    Returns the file size in bytes."""
    threads = threads or min(32, os.cpu_count() or 1)
    window = 2 * threads
    with open(path, "wb") as f, ThreadPoolExecutor(max_workers=threads) as pool:
        f.write(header_for(specs))
        pending: deque[Future] = deque()
        for job in _chunks(specs, seed, zero_rows or {}):
            pending.append(pool.submit(_make_chunk, job))
            if len(pending) >= window:
                f.write(pending.popleft().result())
        while pending:
            f.write(pending.popleft().result())
        return f.tell()
