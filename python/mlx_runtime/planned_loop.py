"""The runtime's step loops, one per loaded model, behind one interface (insert / remove / step).

`PlannedLoop` (scheduler "planner", opt-in: see EngineConfig.scheduler) is the runtime's own loop over mlx-lm's model and
KV-cache classes. Every step it asks the step planner (step_planner.py, the port of
core/scheduling/step-planner.ts) for a plan from the decode batch (size, context tokens), the
prefilling sequences and the head of the waiting FIFO, then:

  (a) runs one decode step of the decode batch (mlx-lm's `GenerationBatch.next()`: it queues the
      forward pass of this step and returns the tokens sampled by the previous one);
  (b) admits `plan.admit` waiting sequences to prefilling;
  (c) runs each prefilling sequence's chunk on its own single-sequence KV cache; the chunk that
      holds the prompt's last token also samples the first token from its logits, and the
      sequence joins the decode batch with that token as its next input: no extra forward pass
      (mlx-lm's BatchGenerator feeds the last prompt token in a separate pass of the joiners);
  (d) hands the responses of (a) to the caller while the step's compute runs, evaluates the step,
      measures its wall time and feeds the step cost model (`StepCostModel.observe`).

`BatchGeneratorLoop` (scheduler "batch-generator") keeps the previous path, mlx-lm's
`BatchGenerator`, for A/B comparisons.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import mlx.core as mx
from mlx_lm.generate import (
    BatchGenerator,
    GenerationBatch,
    StopSequences,
    _merge_caches,
    generation_stream,
)
from mlx_lm.models.cache import TokenBuffer, make_prompt_cache
from mlx_lm.sample_utils import greedy_sampler

from .step_cost import StepCostModel, StepCostPrior
from .step_planner import PrefillingSeq, StepPlan, StepPlannerConfig, WaitingSeq, plan_step

Handle = Callable[[List[Any]], None]
CacheTokens = Tuple[List[Any], List[int]]

SCHEDULERS = ("planner", "batch-generator")


class BatchGeneratorLoop:
    """mlx-lm's BatchGenerator: one decode pass, then up to prefill_batch_size prompts x
    prefill_step_size tokens, every step (the loop of mlx_lm.server)."""

    name = "batch-generator"

    def __init__(self, model: Any, *, eos_token_ids: Sequence[int], max_sequences: int, default_max_tokens: int,
                 prefill_batch_size: int, prefill_step_size: int):
        self.model = model
        self._kw = dict(max_tokens=default_max_tokens, stop_tokens=[[t] for t in eos_token_ids],
                        completion_batch_size=max_sequences, prefill_batch_size=prefill_batch_size,
                        prefill_step_size=prefill_step_size)
        self.bg = BatchGenerator(model, **self._kw)

    def insert(self, prompt: List[int], n_cached: int, cache: Optional[List[Any]], sampler: Any,
               max_tokens: int) -> int:
        (uid,) = self.bg.insert_segments(
            segments=[[prompt[n_cached:]]], max_tokens=[max_tokens],
            caches=[cache] if cache is not None else None, all_tokens=[prompt[:n_cached]], samplers=[sampler])
        return uid

    def remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
        caches = self.bg.remove([uid], return_prompt_caches=return_cache)
        return caches.get(uid) if return_cache else None

    def step(self, handle: Handle) -> None:
        _, gen_responses = self.bg.next()
        handle(gen_responses)

    def counts(self) -> Tuple[int, int, int]:
        bg = self.bg
        return len(bg._generation_batch), len(bg._prompt_batch), len(bg._unprocessed_sequences)

    @property
    def nbytes(self) -> int:
        return int(self.bg.prompt_cache_nbytes)

    def reset(self) -> None:
        self.close()
        self.bg = BatchGenerator(self.model, **self._kw)

    def close(self) -> None:
        try:
            self.bg.close()
        except Exception:  # pragma: no cover
            pass

    def describe(self) -> dict:
        return {"scheduler": self.name}


@dataclass
class _Seq:
    """A sequence before it decodes: waiting (done == cached tokens) or prefilling."""
    uid: int
    prompt: List[int]
    done: int  # prompt tokens held in `cache`
    cache: List[Any]
    sampler: Any
    max_tokens: int


class PlannedLoop:
    name = "planner"

    def __init__(self, model: Any, *, eos_token_ids: Sequence[int], planner: StepPlannerConfig,
                 cost_prior: StepCostPrior):
        planner.validate()
        self.model = model
        self.cfg = planner
        self.cost = StepCostModel(cost_prior)
        self.fallback_sampler = greedy_sampler
        self.stop_sequences = StopSequences([[t] for t in eos_token_ids])
        self.decode = GenerationBatch.empty(model, self.fallback_sampler)
        self.prefilling: List[_Seq] = []
        self.waiting: Deque[_Seq] = deque()
        self._uid = 0
        self.steps = 0
        self.prefill_chunks = 0
        self.prefill_tokens = 0
        self.last_plan: Optional[dict] = None
        # tests: a list that receives (plan, batch, context_tokens, [(uid, chunk)...]) every step
        self.trace: Optional[list] = None

    # ----------------------------------------------------------------- requests
    def insert(self, prompt: List[int], n_cached: int, cache: Optional[List[Any]], sampler: Any,
               max_tokens: int) -> int:
        uid = self._uid
        self._uid += 1
        if cache is None:
            cache, n_cached = make_prompt_cache(self.model), 0
        self.waiting.append(_Seq(uid, list(prompt), n_cached, cache, sampler, int(max_tokens)))
        return uid

    def remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
        """Remove a sequence wherever it is; with return_cache, (its KV cache, the tokens it holds)."""
        for i, s in enumerate(self.waiting):
            if s.uid == uid:
                del self.waiting[i]
                return (s.cache, s.prompt[: s.done]) if return_cache else None
        for i, s in enumerate(self.prefilling):
            if s.uid == uid:
                del self.prefilling[i]
                return (s.cache, s.prompt[: s.done]) if return_cache else None
        d = self.decode
        for i, u in enumerate(d.uids):
            if u == uid:
                out = (d.extract_cache(i), list(d.tokens[i])) if return_cache else None
                d.filter([j for j in range(len(d.uids)) if j != i])
                return out
        return None

    # --------------------------------------------------------------------- step
    def plan(self) -> Tuple[StepPlan, int, int]:
        b = len(self.decode)
        ctx = sum(len(t) for t in self.decode.tokens)
        prefilling = [PrefillingSeq(len(s.prompt) - s.done, len(s.prompt)) for s in self.prefilling]
        waiting = [WaitingSeq(len(s.prompt) - s.done, len(s.prompt))
                   for s in islice(self.waiting, self.cfg.max_sequences)]
        return plan_step(self.cfg, self.cost, b, ctx, prefilling, waiting), b, ctx

    def step(self, handle: Handle) -> None:
        with mx.stream(generation_stream):
            self._step(handle)

    def _step(self, handle: Handle) -> None:
        t0 = time.perf_counter()
        plan, b, ctx = self.plan()
        # (a) one decode step: queues this step's forward pass, returns the previous step's tokens
        responses = self.decode.next()
        # (b) admission
        for _ in range(plan.admit):
            self.prefilling.append(self.waiting.popleft())
        # (c) prefill chunks; the chunk with the prompt's last token samples the first token
        pending: List[Any] = []
        joiners: List[Tuple[_Seq, mx.array, mx.array]] = []
        done_chunks = []
        for s, c in zip(list(self.prefilling), plan.chunks):
            if c <= 0:
                continue
            end = s.done + c
            logits = self.model(mx.array([s.prompt[s.done:end]]), cache=s.cache)
            s.done = end
            done_chunks.append((s.uid, c))
            if end >= len(s.prompt):
                logits = logits[:, -1, :]
                logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
                token = (s.sampler or self.fallback_sampler)(logprobs)
                joiners.append((s, token, logprobs))
            else:
                pending.extend(c_.state for c_ in s.cache)
        if joiners:
            joined = {s.uid for s, _, _ in joiners}
            self.prefilling = [s for s in self.prefilling if s.uid not in joined]
            self.decode.extend(self._joiner_batch(joiners))
        if self.decode._next_tokens is not None and len(self.decode):
            pending.append(self.decode._next_tokens)
        if pending:
            mx.async_eval(pending)
        self.steps += 1
        self.prefill_chunks += len(done_chunks)
        self.prefill_tokens += plan.prefill_tokens
        self.last_plan = {"batch": b, "context_tokens": ctx, "admit": plan.admit, "chunks": list(plan.chunks),
                          "prefill_tokens": plan.prefill_tokens, "token_budget": plan.token_budget,
                          "predicted_ms": round(plan.predicted_ms, 3)}
        if self.trace is not None:
            self.trace.append((plan, b, ctx, done_chunks))
        # (d) the caller's per-token work runs while the step computes
        handle(responses)
        if pending:
            mx.eval(pending)
        ms = (time.perf_counter() - t0) * 1000.0
        if b > 0 or plan.prefill_tokens > 0:
            self.cost.observe(b, ctx, plan.prefill_tokens, ms)
        self.last_plan["measured_ms"] = round(ms, 3)
        if plan.prefill_tokens >= 512 or self.steps % 512 == 0:
            mx.clear_cache()

    def _joiner_batch(self, joiners: List[Tuple[_Seq, mx.array, mx.array]]) -> GenerationBatch:
        """A GenerationBatch for sequences whose prompt is fully in their cache and whose first token
        is sampled: the fields GenerationBatch.__init__ sets (mlx-lm 0.32.2), without its `_step()`
        (that pass already happened: the last prefill chunk)."""
        n = len(joiners)
        jb = GenerationBatch.empty(self.model, self.fallback_sampler)
        jb.uids = [s.uid for s, _, _ in joiners]
        jb.prompt_cache = _merge_caches([s.cache for s, _, _ in joiners])
        jb.tokens = [list(s.prompt) for s, _, _ in joiners]  # the tokens held in the KV cache
        jb.samplers = [s.sampler or self.fallback_sampler for s, _, _ in joiners]
        jb.logits_processors = [() for _ in range(n)]
        jb.stop_sequences = [self.stop_sequences] * n
        jb.max_tokens = [s.max_tokens for s, _, _ in joiners]
        jb._current_tokens = None
        jb._current_logprobs = []
        jb._next_tokens = mx.concatenate([t for _, t, _ in joiners]) if n > 1 else joiners[0][1]
        jb._next_logprobs = [lp[0] for _, _, lp in joiners]
        jb._token_context = [TokenBuffer(t) for t in jb.tokens]
        jb._num_tokens = [0] * n
        jb._matchers = [ss.matcher() for ss in jb.stop_sequences]
        return jb

    # ------------------------------------------------------------------ status
    def counts(self) -> Tuple[int, int, int]:
        return len(self.decode), len(self.prefilling), len(self.waiting)

    @property
    def nbytes(self) -> int:
        total = sum(c.nbytes for c in self.decode.prompt_cache)
        for s in list(self.prefilling) + list(self.waiting):
            total += sum(c.nbytes for c in s.cache)
        return int(total)

    def reset(self) -> None:
        self.decode = GenerationBatch.empty(self.model, self.fallback_sampler)
        self.prefilling = []
        self.waiting = deque()

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        names = ("base_ms", "per_sequence_ms", "per_kilo_context_ms", "prefill_pass_ms",
                 "per_kilo_prefill_tokens_ms")
        return {"scheduler": self.name,
                "cost_model": {"coefficients": {k: round(v, 6) for k, v in zip(names, self.cost.theta)},
                               "observations": self.cost.observations},
                "steps": self.steps, "prefill_chunks": self.prefill_chunks,
                "prefill_tokens": self.prefill_tokens, "last_plan": self.last_plan}
