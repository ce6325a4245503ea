"""The per-step cost of logprobs / top_logprobs (python/mlx_runtime/logprobs.py) on this machine's
default MLX device: random log-probability rows of a few vocabulary sizes and batch sizes, the
batched computation the engine runs once per step. Prints ms per step and us per token.

    PYTHONPATH=python python3 scripts/gpu/logprobs_cost.py
"""

import time

import mlx.core as mx

from mlx_runtime.logprobs import token_logprobs


class _Pieces:
    def candidate(self, t, v):
        return {"token_id": t, "token": "x", "bytes": [120], "logprob": v}


def main() -> None:
    print("device", mx.default_device())
    for vocab in (1188, 32000, 128256):
        for batch in (1, 16, 64):
            x = mx.random.normal((batch, vocab)).astype(mx.bfloat16)
            rows = list(x - mx.logsumexp(x, axis=-1, keepdims=True))
            mx.eval(rows)
            toks = [int(t) for t in mx.argmax(x, axis=-1).tolist()]
            for top in (0, 5, 20):
                args = (rows, toks, [top] * batch, [_Pieces()] * batch)
                token_logprobs(*args)
                n = 20
                t0 = time.perf_counter()
                for _ in range(n):
                    token_logprobs(*args)
                dt = (time.perf_counter() - t0) / n
                print(f"vocab {vocab:6d} batch {batch:3d} top_logprobs {top:2d}: {dt * 1e3:8.3f} ms/step {dt / batch * 1e6:8.1f} us/token")


if __name__ == "__main__":
    main()
