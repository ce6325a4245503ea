"""What a decode batch's KV cache costs in memory, as mlx-lm lays it out.

mlx-lm's BatchKVCache (both step loops build their batch from it) keeps every sequence of the batch
at the same length: the shorter ones are left-padded to the longest. A batch of B sequences whose
longest reaches L tokens holds B x L positions, not the sum of the lengths; and merging new prompts
into it (`extend`) concatenates into a new buffer while the old one is alive, so the peak is twice
that. On an H200 (reports/reference/gpu/README.md) this is what ran the runtime to 145 GB in phase 3
while the per-sequence sum it admitted against stayed far below its budget; the probe there shows a
batch of 128 at 2,895 positions holding 5x the real tokens.

So the runtime admits against the padded cost: each sequence reserves its prompt + max_tokens (the
longest it can get), and a model's batch costs len x max(reserved) x bytes per token x COPY_FACTOR.
"""

from __future__ import annotations

from typing import Iterable

# extend/concatenate: the old and the new batch buffers are alive together
COPY_FACTOR = 2


def padded_batch_bytes(reserved_tokens: Iterable[int], bytes_per_token: int) -> int:
    """The padded KV cost of one model's batch whose sequences reserve these token counts."""
    tokens = list(reserved_tokens)
    if not tokens:
        return 0
    return len(tokens) * max(tokens) * int(bytes_per_token) * COPY_FACTOR
