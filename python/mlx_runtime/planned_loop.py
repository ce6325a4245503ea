"""The runtime's step loops, one per loaded model, behind one interface (insert / remove / step).

`PlannedLoop` (scheduler "planner", opt-in: see EngineConfig.scheduler) is the runtime's own loop over mlx-lm's model and
KV-cache classes. Every step it asks the step planner (step_planner.py, the port of
core/scheduling/step-planner.ts) for a plan from the decode batch (size, context tokens), the
prefilling sequences and the head of the waiting FIFO, then:

  (a) runs one decode step of the decode batch (mlx-lm's `GenerationBatch.next()`: it queues the
      forward pass of this step and returns the tokens sampled by the previous one);
  (b) admits `plan.admit` waiting sequences to prefilling;
  (c) runs the step's prefill chunks in ONE forward pass: the chunks right-padded to the longest,
      the sequences' KV caches merged into one batch cache (as mlx-lm's PromptProcessingBatch does);
      a sequence whose chunk holds the prompt's last token samples its first token from the logits
      at its last real position and joins the decode batch with that token as its next input: no
      extra forward pass (mlx-lm's BatchGenerator feeds the last prompt token in a separate pass of
      the joiners); the others take their own cache back and continue next step;
  (d) queues the step (mx.async_eval) and hands the responses of (a) to the caller while it
      computes. Nothing waits for the step here: the next step queues its decode pass first, then
      waits for this one, times it (end of the previous step -> end of this one) and feeds the step
      cost model (`StepCostModel.observe`), so the host's work overlaps the device's as in
      mlx-lm's GenerationBatch.

`BatchGeneratorLoop` (scheduler "batch-generator", the default; batch_generator_loop.py) is mlx-lm's
`BatchGenerator`, the loop of mlx_lm.server.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any, Deque, List, Optional, Sequence, Tuple

import mlx.core as mx
from mlx_lm.generate import (
    GenerationBatch,
    StopSequences,
    _merge_caches,
    _right_pad_prompts,
    generation_stream,
)
from mlx_lm.models.cache import TokenBuffer, make_prompt_cache
from mlx_lm.sample_utils import greedy_sampler

from .batch_generator_loop import CacheTokens, Handle
from .step_cost import StepCostModel, StepCostPrior
from .step_planner import PrefillingSeq, StepPlan, StepPlannerConfig, WaitingSeq, plan_step


SCHEDULERS = ("planner", "batch-generator")


@dataclass
class _Seq:
    """A sequence before it decodes: waiting (done == cached tokens) or prefilling."""
    uid: int
    prompt: List[int]
    done: int  # prompt tokens held in `cache`
    cache: List[Any]
    sampler: Any
    max_tokens: int
    processors: Tuple[Any, ...] = ()  # its own logits processors (structured output)


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
        # the previous step, until it is observed: (batch, context, prefill tokens, its queued arrays,
        # its start, its last_plan dict)
        self._prev: Optional[tuple] = None

    # ----------------------------------------------------------------- requests
    def insert(self, prompt: List[int], n_cached: int, cache: Optional[List[Any]], sampler: Any,
               max_tokens: int, logits_processors: Optional[List[Any]] = None) -> int:
        """logits_processors: this sequence's own, applied to its row only: to the logits its first token
        is sampled from (the prefill pass) and then, in the decode batch, by mlx-lm's GenerationBatch."""
        uid = self._uid
        self._uid += 1
        if cache is None:
            cache, n_cached = make_prompt_cache(self.model), 0
        self.waiting.append(_Seq(uid, list(prompt), n_cached, cache, sampler, int(max_tokens),
                                 tuple(logits_processors or ())))
        return uid

    def remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
        """Remove a sequence wherever it is; with return_cache, (its KV cache, the tokens it holds)."""
        out = self._remove(uid, return_cache)
        if self._prev is not None and not self.decode.uids and not self.prefilling and not self.waiting:
            self._prev = None  # no next step to observe the last one: the loop may now idle for long
        return out

    def _remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
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
        t_start = time.perf_counter()
        plan, b, ctx = self.plan()
        # (a) one decode step: queues this step's forward pass, waits for the previous step's decode
        #     tokens (mlx-lm's own sync) and returns them
        responses = self.decode.next()
        # the previous step's end: wait for its prefill too (already queued before this step's
        # decode, so the device keeps working on this step's decode meanwhile) and observe it
        t_begin = self._settle() if self._prev is not None else t_start
        # (b) admission
        for _ in range(plan.admit):
            self.prefilling.append(self.waiting.popleft())
        # (c) prefill chunks, batched; the chunk with the prompt's last token samples the first token
        work = [(s, c) for s, c in zip(list(self.prefilling), plan.chunks) if c > 0]
        markers: List[Any] = self._prefill(work) if work else []
        if self.decode._next_tokens is not None and len(self.decode):
            markers.append(self.decode._next_tokens)
        if markers:
            mx.async_eval(markers)
        done_chunks = [(s.uid, c) for s, c in work]
        self.steps += 1
        self.prefill_chunks += len(work)
        self.prefill_tokens += plan.prefill_tokens
        self.last_plan = {"batch": b, "context_tokens": ctx, "admit": plan.admit, "chunks": list(plan.chunks),
                          "prefill_tokens": plan.prefill_tokens, "token_budget": plan.token_budget,
                          "predicted_ms": round(plan.predicted_ms, 3), "measured_ms": None}
        if self.trace is not None:
            self.trace.append((plan, b, ctx, done_chunks))
        self._prev = (b, ctx, plan.prefill_tokens, markers, t_begin, self.last_plan)
        # (d) the caller's per-token work runs while the step computes
        handle(responses)
        if plan.prefill_tokens >= 512 or self.steps % 512 == 0:
            mx.clear_cache()
        if not self.decode.uids and not self.prefilling and not self.waiting:
            self._settle()  # nothing follows: end the step here rather than at the next one

    def _settle(self) -> float:
        """End the previous step: wait for what it queued (its decode pass and prefill chunks) and
        feed the cost model one observation for it. Returns the time it ended (the next step's start).

        What the measured ms covers: from the end of the step before (or, after an idle loop, the
        step's own start) to the moment its last queued computation is known done, observed after
        the next step's decode pass is queued. With the device busy this is the device time of the
        step's decode pass and prefill chunks (mlx-lm's pipelining: the next pass is queued before
        the host waits); with the host slower than the device it also counts the host's per-step
        work (planning, building the graphs, the caller's token handling). Either way it is the wall
        time one step adds, i.e. the inter-token latency of a decoding sequence. No extra sync is
        spent on it: the only waits are the decode's own and this one, which overlaps the next decode."""
        b, ctx, prefill_tokens, markers, t_begin, last_plan = self._prev
        self._prev = None
        if markers:
            mx.eval(markers)
        t_end = time.perf_counter()
        ms = (t_end - t_begin) * 1000.0
        if b > 0 or prefill_tokens > 0:
            self.cost.observe(b, ctx, prefill_tokens, ms)
        last_plan["measured_ms"] = round(ms, 3)
        return t_end

    def _prefill(self, work: List[Tuple[_Seq, int]]) -> List[Any]:
        """One forward pass for every chunk of the step: the chunks right-padded to the longest, the
        sequences' KV caches merged into one batch cache (mlx-lm's BatchKVCache, as its
        PromptProcessingBatch.prompt does); afterwards each sequence that continues takes its own
        cache back (extract), and those whose chunk completes the prompt join the decode batch with
        the merged cache (their first tokens sampled in one call from the logits at each one's last
        real position). A lone chunk runs on its sequence's own cache. Returns the arrays to evaluate."""
        seqs = [s for s, _ in work]
        lens = [c for _, c in work]
        n, longest = len(work), max(lens)
        pad = [longest - c for c in lens]
        if n == 1:
            cache = seqs[0].cache
            x = mx.array([seqs[0].prompt[seqs[0].done:seqs[0].done + lens[0]]])
        else:
            cache = _merge_caches([s.cache for s in seqs])
            x = _right_pad_prompts([s.prompt[s.done:s.done + c] for s, c in work], max_length=longest)
            if longest > min(lens):
                for c in cache:
                    c.prepare(lengths=lens, right_padding=pad)
        logits = self.model(x, cache=cache)
        if n > 1 and longest > min(lens):
            for c in cache:
                c.finalize()  # the padding's keys/values rolled to the left, masked as left padding
        for s, c in work:
            s.done += c
        joins = [i for i, s in enumerate(seqs) if s.done >= len(s.prompt)]
        stay = [i for i, s in enumerate(seqs) if s.done < len(s.prompt)]
        markers: List[Any] = []
        if n > 1:
            for i in stay:
                seqs[i].cache = [c.extract(i) for c in cache]
                markers.extend(c.state for c in seqs[i].cache)
        elif stay:
            markers.extend(c.state for c in cache)
        if not joins:
            return markers
        # the logits at each joiner's last real position (the padding is on the right)
        if n == 1:
            last = logits[:, -1, :]
        elif len(joins) == n and not any(pad):
            last = logits[:, -1, :]
        else:
            last = logits[mx.array(joins), mx.array([lens[i] - 1 for i in joins])]
        joiners = [seqs[i] for i in joins]
        if any(s.processors for s in joiners):  # each joiner's own processors on its own row
            rows = []
            for k, s in enumerate(joiners):
                row = last[k:k + 1]
                if s.processors:
                    context = mx.array(s.prompt, dtype=mx.int32)
                    for proc in s.processors:
                        row = proc(context, row)
                rows.append(row)
            last = mx.concatenate(rows, axis=0)
        logprobs = last - mx.logsumexp(last, axis=-1, keepdims=True)
        samplers = [s.sampler or self.fallback_sampler for s in joiners]
        if all(f is samplers[0] for f in samplers):
            tokens = samplers[0](logprobs)
        else:
            tokens = mx.concatenate([f(logprobs[k:k + 1]) for k, f in enumerate(samplers)], axis=0)
        if n == 1:
            jcache = _merge_caches([cache])
        elif len(joins) == n:
            jcache = cache
        else:
            jcache = [copy.copy(c) for c in cache]
            for c in jcache:
                c.filter(joins)  # assigns new arrays: the merged cache the others extracted from is untouched
        joined = {s.uid for s in joiners}
        self.prefilling = [s for s in self.prefilling if s.uid not in joined]
        self.decode.extend(self._joiner_batch(joiners, jcache, samplers, tokens, logprobs))
        markers.extend([tokens, logprobs])
        return markers

    def _joiner_batch(self, joiners: List[_Seq], cache: List[Any], samplers: List[Any], tokens: mx.array,
                      logprobs: mx.array) -> GenerationBatch:
        """A GenerationBatch for sequences whose prompt is fully in `cache` (a batch cache) and whose
        first token is sampled: the fields GenerationBatch.__init__ sets (mlx-lm 0.32.2), without its
        `_step()` (that pass already happened: the last prefill chunk)."""
        n = len(joiners)
        jb = GenerationBatch.empty(self.model, self.fallback_sampler)
        jb.uids = [s.uid for s in joiners]
        jb.prompt_cache = cache
        jb.tokens = [list(s.prompt) for s in joiners]  # the tokens held in the KV cache
        jb.samplers = list(samplers)
        jb.logits_processors = [s.processors for s in joiners]
        jb.stop_sequences = [self.stop_sequences] * n
        jb.max_tokens = [s.max_tokens for s in joiners]
        jb._current_tokens = None
        jb._current_logprobs = []
        jb._next_tokens = tokens
        jb._next_logprobs = [logprobs[k] for k in range(n)]
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
        self._prev = None
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
