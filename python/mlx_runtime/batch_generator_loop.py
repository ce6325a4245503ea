"""`BatchGeneratorLoop` (scheduler "batch-generator", the runtime's default): mlx-lm's BatchGenerator
behind the runtime's loop interface (insert / remove / step; planned_loop.py holds the other loop),
with the admit group (admit_group.py) deciding when waiting prompts join a busy batch."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mlx_lm.generate import BatchGenerator

from .admit_group import AdmitGroupConfig, admit_now

Handle = Callable[[List[Any]], None]
CacheTokens = Tuple[List[Any], List[int]]


class BatchGeneratorLoop:
    """mlx-lm's BatchGenerator: one decode pass, then up to prefill_batch_size prompts x
    prefill_step_size tokens, every step (the loop of mlx_lm.server)."""

    name = "batch-generator"

    def __init__(self, model: Any, *, eos_token_ids: Sequence[int], max_sequences: int, default_max_tokens: int,
                 prefill_batch_size: int, prefill_step_size: int, uid_base: int = 0,
                 admit_group: AdmitGroupConfig = AdmitGroupConfig(), clock: Callable[[], float] = time.monotonic):
        self.model = model
        self.uid_base = uid_base  # the first uid (length_buckets.py keeps its buckets' uids apart)
        self.admit_group = admit_group  # hold waiting prompts for a group (admit_group.py); default at once
        self._clock = clock
        self._arrived: Dict[int, float] = {}  # uid -> when it was inserted, while it waits (admit groups only)
        self.max_sequences = max_sequences
        self._kw = dict(max_tokens=default_max_tokens, stop_tokens=[[t] for t in eos_token_ids],
                        completion_batch_size=max_sequences, prefill_batch_size=prefill_batch_size,
                        prefill_step_size=prefill_step_size)
        self.bg = self._new_batch_generator()

    def _new_batch_generator(self) -> BatchGenerator:
        """The one place the runtime builds mlx-lm's BatchGenerator (at start, and after a broken step)."""
        bg = BatchGenerator(self.model, **self._kw)
        bg._uid_count = self.uid_base
        return bg

    def insert(self, prompt: List[int], n_cached: int, cache: Optional[List[Any]], sampler: Any,
               max_tokens: int, logits_processors: Optional[List[Any]] = None) -> int:
        """logits_processors: this sequence's own (mlx-lm applies them to its row of the batch only)."""
        (uid,) = self.bg.insert_segments(
            segments=[[prompt[n_cached:]]], max_tokens=[max_tokens],
            caches=[cache] if cache is not None else None, all_tokens=[prompt[:n_cached]], samplers=[sampler],
            logits_processors=[logits_processors or []])
        if not self.admit_group.at_once:
            self._arrived[uid] = self._clock()
        return uid

    def remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
        self._arrived.pop(uid, None)
        caches = self.bg.remove([uid], return_prompt_caches=return_cache)
        return caches.get(uid) if return_cache else None

    def step(self, handle: Handle) -> None:
        bg = self.bg
        if self._hold():  # mlx-lm admits from _unprocessed_sequences inside next(): hide them for this step
            waiting, bg._unprocessed_sequences = bg._unprocessed_sequences, deque()
            try:
                _, gen_responses = bg.next()
            finally:
                bg._unprocessed_sequences = waiting
        else:
            _, gen_responses = bg.next()
        handle(gen_responses)

    def _hold(self) -> bool:
        """True when this step must not admit waiting prompts (admit_group.py decides)."""
        if self.admit_group.at_once:
            return False
        bg = self.bg
        waiting = [seq[0] for seq in bg._unprocessed_sequences]
        self._arrived = {uid: self._arrived[uid] for uid in waiting if uid in self._arrived}
        if not waiting:
            return False
        oldest_ms = (self._clock() - min(self._arrived.values(), default=self._clock())) * 1000
        busy = len(bg._generation_batch) + len(bg._prompt_batch)
        return admit_now(self.admit_group, len(waiting), oldest_ms, busy, self.max_sequences - busy) == 0

    def counts(self) -> Tuple[int, int, int]:
        bg = self.bg
        return len(bg._generation_batch), len(bg._prompt_batch), len(bg._unprocessed_sequences)

    @property
    def nbytes(self) -> int:
        return int(self.bg.prompt_cache_nbytes)

    def reset(self) -> None:
        self.close()
        self.bg = self._new_batch_generator()

    def close(self) -> None:
        try:
            self.bg.close()
        except Exception:  # pragma: no cover
            pass

    def describe(self) -> dict:
        out: dict = {"scheduler": self.name}
        if not self.admit_group.at_once:
            out["admit_group"] = {"min_group": self.admit_group.min_group, "max_wait_ms": self.admit_group.max_wait_ms}
        return out
