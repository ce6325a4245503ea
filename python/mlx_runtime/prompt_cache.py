"""Per-session prompt (prefix) cache.

One entry per (model, session_id): the token ids held in a KV cache and that cache
(a list of per-layer mlx_lm KVCache). A request of the same session takes the
entry out (it owns the cache while it runs, so nothing is copied), reuses the
longest common prefix of its prompt with the cached tokens (trimming the rest)
and only prefills the suffix. When the request ends, the cache, now covering
prompt + generated tokens, is put back. Bounded by entries and bytes, LRU.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable, List, Optional, Tuple

import mlx.core as mx
from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache


@dataclass
class Entry:
    tokens: List[int]
    cache: List[Any]
    nbytes: int


def cache_nbytes(cache: List[Any]) -> int:
    return int(sum(c.nbytes for c in cache))


def materialize(cache: List[Any]) -> None:
    """Evaluate a cache's arrays now.

    mlx-lm extracts a finished sequence's cache from the batch as a lazy
    `mx.contiguous(batch_keys[i, :, pad:end])`: until it is evaluated it holds the
    whole padded batch buffer (every layer) alive. Kept unevaluated in this cache,
    each entry pinned its own version of the batch's KV (the batch is reallocated as
    it grows, filters and extends): on an H200, phase 2 reached 136 GB of live
    arrays for ~16 GB of real KV (reports/reference/gpu/README.md).
    """
    mx.eval([c.state for c in cache])


def common_prefix_len(a: List[int], b: List[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class SessionPromptCache:
    def __init__(self, max_entries: int = 64, max_bytes: Optional[int] = None):
        self.max_entries = max(0, int(max_entries))
        self.max_bytes = max_bytes
        self._entries: "OrderedDict[Hashable, Entry]" = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.tokens_reused = 0

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, key: Hashable, prompt: List[int]) -> Tuple[Optional[List[Any]], int]:
        """Remove the session's entry and return (cache, n_cached_tokens).

        At least one prompt token is always left to compute (the model needs
        logits for the last position), so n_cached <= len(prompt) - 1.
        """
        entry = self._entries.pop(key, None)
        if entry is None:
            self.misses += 1
            return None, 0
        self.nbytes -= entry.nbytes
        n = min(common_prefix_len(entry.tokens, prompt), len(prompt) - 1)
        if n <= 0 or (n < len(entry.tokens) and not can_trim_prompt_cache(entry.cache)):
            self.misses += 1
            return None, 0
        if n < len(entry.tokens):
            trim_prompt_cache(entry.cache, len(entry.tokens) - n)
        self.hits += 1
        self.tokens_reused += n
        return entry.cache, n

    def put(self, key: Hashable, tokens: List[int], cache: List[Any]) -> None:
        if self.max_entries == 0 or not tokens:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        materialize(cache)
        entry = Entry(list(tokens), cache, cache_nbytes(cache))
        self._entries[key] = entry
        self.nbytes += entry.nbytes
        while len(self._entries) > self.max_entries:
            self.evict_one()
        while self.max_bytes is not None and self.nbytes > self.max_bytes and self._entries:
            self.evict_one()

    def evict_one(self) -> int:
        """Evict the least recently used entry; returns the bytes freed."""
        if not self._entries:
            return 0
        _, entry = self._entries.popitem(last=False)
        self.nbytes -= entry.nbytes
        self.evictions += 1
        return entry.nbytes

    def drop_model(self, model_name: str) -> None:
        for key in [k for k in self._entries if isinstance(k, tuple) and k[0] == model_name]:
            self.nbytes -= self._entries.pop(key).nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0

    def stats(self) -> dict:
        return {
            "entries": len(self._entries),
            "max_entries": self.max_entries,
            "bytes": int(self.nbytes),
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
            "tokens_reused": self.tokens_reused,
        }
