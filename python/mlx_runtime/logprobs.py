"""Per-token log-probabilities for `generate` (`logprobs`, `top_logprobs`).

The step loops already hand every emitted token's log-probabilities over the vocabulary to the
engine (mlx-lm's `GenerationBatch.Response.logprobs`: `logits - logsumexp(logits)`, before the
sampler applies temperature / top_p). One call per step turns the vectors of the requests that
asked into what the protocol sends, for all of them at once (one stack, one gather, one top-k, one
device sync), so a request that did not ask costs nothing and one that asked costs one element
gathered from its row; only rows that ask for alternatives are stacked for the top-k:

    chosen[i] = logprobs[i][token[i]]
    top[i]    = the k_i largest entries of logprobs[i], descending (argpartition, then a sort of k)

Token text and bytes come from `TokenPieces` (the tokenizer's own piece of the vocabulary, so a
byte of a multi-byte character keeps its exact byte; its `token` text then shows U+FFFD).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import mlx.core as mx

TOP_LOGPROBS_MAX = 20

Candidate = Dict[str, Any]


class TokenPieces:
    """Token id -> (text, bytes), computed once per id (bounded by the vocabulary)."""

    def __init__(self, tokenizer: Any):
        self._tok = tokenizer
        self._cache: Dict[int, Tuple[str, List[int]]] = {}
        self._kind = type(getattr(tokenizer, "_detokenizer", None)).__name__

    def get(self, token_id: int) -> Tuple[str, List[int]]:
        hit = self._cache.get(token_id)
        if hit is None:
            b = self._bytes(token_id)
            hit = (b.decode("utf-8", errors="replace"), list(b))
            self._cache[token_id] = hit
        return hit

    def _bytes(self, token_id: int) -> bytes:
        tok = self._tok
        if self._kind == "BPEStreamingDetokenizer":
            from mlx_lm.tokenizer_utils import _byte_decoder

            raw = tok.convert_ids_to_tokens(token_id)
            dec = _byte_decoder()
            if isinstance(raw, str) and all(c in dec for c in raw):
                return bytes(dec[c] for c in raw)
            return str(raw).encode("utf-8")  # a special token: its name
        if self._kind == "SPMStreamingDetokenizer":
            b = tok._detokenizer.tokenmap[token_id]
            return b.replace("\u2581".encode("utf-8"), b" ")
        return tok.decode([token_id]).encode("utf-8")

    def candidate(self, token_id: int, logprob: float) -> Candidate:
        text, b = self.get(token_id)
        return {"token_id": token_id, "token": text, "bytes": b, "logprob": logprob}


# What a log-probability of -inf (or NaN) is sent as: JSON has no infinity, and OpenAI uses this
# figure for "effectively impossible".
LOGPROB_FLOOR = -9999.0


def _finite(v: float) -> float:
    return v if math.isfinite(v) else LOGPROB_FLOOR


_stream: Any = None


def token_logprobs(rows: Sequence[mx.array], tokens: Sequence[int], tops: Sequence[int],
                   pieces: Sequence[TokenPieces]) -> List[Candidate]:
    """For each i: the chosen token's candidate with `top_logprobs` (its tops[i] most likely tokens,
    descending). rows[i] is a (vocab,) vector of log-probabilities, already evaluated.

    Runs on a stream of its own: the step loops call it while the next step is queued on mlx-lm's
    generation stream (the planner even from inside that stream's context), and its one sync must not
    wait for that step."""
    global _stream
    if not rows:
        return []
    if _stream is None:
        _stream = mx.new_stream(mx.default_device())
    with mx.stream(_stream):
        return _token_logprobs(rows, tokens, tops, pieces)


def _token_logprobs(rows: Sequence[mx.array], tokens: Sequence[int], tops: Sequence[int],
                    pieces: Sequence[TokenPieces]) -> List[Candidate]:
    n = len(rows)
    # the chosen tokens: one element per row (no copy of the rows)
    chosen = mx.stack([r.reshape(-1)[int(t)] for r, t in zip(rows, tokens)]).astype(mx.float32)
    k = min(max(tops), rows[0].size)
    top_idx = top_val = None
    if k > 0:
        asking = [i for i, t in enumerate(tops) if t > 0]
        sub = mx.stack([rows[i].reshape(-1) for i in asking]).astype(mx.float32)  # (asking, V)
        idx = mx.argpartition(-sub, kth=k - 1, axis=1)[:, :k]
        val = mx.take_along_axis(sub, idx, axis=1)
        order = mx.argsort(-val, axis=1)
        top_idx = mx.take_along_axis(idx, order, axis=1)
        top_val = mx.take_along_axis(val, order, axis=1)
        mx.eval(chosen, top_idx, top_val)
        rows_of = {i: j for j, i in enumerate(asking)}
        top_idx, top_val = top_idx.tolist(), top_val.tolist()
    else:
        mx.eval(chosen)
        rows_of = {}
    chosen_l = chosen.tolist()
    out: List[Candidate] = []
    for i in range(n):
        c = pieces[i].candidate(int(tokens[i]), _finite(float(chosen_l[i])))
        j = rows_of.get(i)
        c["top_logprobs"] = [] if j is None else [
            pieces[i].candidate(int(t), _finite(float(v))) for t, v in zip(top_idx[j][: tops[i]], top_val[j][: tops[i]])]
        out.append(c)
    return out
