"""Runtime benchmark (npm run bench:runtime / bash python/bench.sh).

1. builds (or reuses) the "small" model under python/.cache/models/small;
2. single-stream decode tok/s of mlx_lm directly (stream_generate, in this process)
   vs the runtime (python -m mlx_runtime.server, through its stdio pipe);
3. aggregate tok/s of the runtime at 1, 4, 16 and 32 concurrent sequences.

Decode rate of one stream = (tokens - 1) / (time of last token - time of first
token), measured where the tokens arrive (the caller of stream_generate; the client
reading the runtime's pipe). Aggregate rate = all completion tokens / wall time from
sending the requests to the last final result (prefill included; prompts are short).
Every figure is the median of --reps repetitions. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import mlx_runtime  # noqa: F401  (BLAS before mlx.core)
from mlx_runtime.build_model import ensure_built
from mlx_runtime.client import RuntimeProcess

PYTHON_DIR = Path(__file__).resolve().parent.parent
PROMPTS = [
    "Once upon a time in the harbour",
    "The captain counted the lanterns",
    "Water boils at one hundred degrees",
    "Have you seen the silver compass?",
    "In early spring the shepherd walked home",
    "The clock in the lighthouse was golden",
    "Tell me something about the old mill",
    "There were many boats near the bridge",
]


def prompt_for(i: int) -> str:
    return f"{PROMPTS[i % len(PROMPTS)]} (story {i})"


class Direct:
    """mlx_lm used directly, in this process: load + stream_generate."""

    def __init__(self, model_dir: str):
        from mlx_lm import load, stream_generate

        self.stream_generate = stream_generate
        self.model, self.tok = load(model_dir)
        for _ in stream_generate(self.model, self.tok, prompt_for(0), max_tokens=8):  # warm-up
            pass

    def single_stream(self, max_tokens: int) -> float:
        stamps = []
        for _r in self.stream_generate(self.model, self.tok, prompt_for(0), max_tokens=max_tokens):
            stamps.append(time.perf_counter())
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])


class StampingClient(RuntimeProcess):
    """Records the arrival time of every token notification per request."""

    def __init__(self, *a, **kw):
        self.stamps: dict[str, list[tuple[float, int]]] = {}
        super().__init__(*a, **kw)

    def _read(self) -> None:
        for raw in self.proc.stdout:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("method") == "tokens":
                p = msg["params"]
                self.stamps.setdefault(p["request_id"], []).append((now, len(p["token_ids"])))
                continue
            with self._lock:
                q = self._responses.get(msg.get("id"))
            (q.put(msg) if q is not None else self.unrouted.put(msg))


def runtime_single_stream(rt: StampingClient, max_tokens: int, rid: str) -> float:
    rt.call("generate", {"prompt": prompt_for(0), "max_tokens": max_tokens, "request_id": rid}, timeout=600)
    st = rt.stamps[rid]
    n = sum(c for _, c in st)
    return (n - st[0][1]) / (st[-1][0] - st[0][0])


def runtime_aggregate(rt: StampingClient, conc: int, max_tokens: int, reps: int, tag: str) -> tuple[list[float], list[int]]:
    rates, max_batch = [], []
    for k in range(reps):
        seen = [0]
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                try:
                    seen[0] = max(seen[0], rt.call("stats", timeout=600)["batch_size"])
                except Exception:
                    return
                time.sleep(0.05)

        th = threading.Thread(target=poll, daemon=True)
        t0 = time.perf_counter()
        ids = [rt.send("generate", {"prompt": prompt_for(i), "max_tokens": max_tokens,
                                    "request_id": f"{tag}-{k}-{i}", "stream": True}) for i in range(conc)]
        th.start()
        total = 0
        for rid in ids:
            msg = rt.wait(rid, timeout=1200)
            if "error" in msg:
                raise RuntimeError(f"generate failed: {msg['error']}")
            total += msg["result"]["usage"]["completion_tokens"]
        wall = time.perf_counter() - t0
        stop.set()
        th.join(timeout=60)
        rates.append(total / wall)
        max_batch.append(seen[0])
    return rates, max_batch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mlx_runtime.bench", description="runtime decode benchmark")
    ap.add_argument("--size", default="small", choices=["tiny", "small"])
    ap.add_argument("--model-dir", default=None, help="model directory (default: build/reuse python/.cache/models/SIZE)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--single-reps", type=int, default=5, help="repetitions of the single-stream comparison")
    ap.add_argument("--single-tokens", type=int, default=96)
    ap.add_argument("--batch-tokens", type=int, default=64)
    ap.add_argument("--concurrency", default="1,4,16,32")
    ap.add_argument("--scheduler", default=None, choices=["planner", "batch-generator"],
                    help="the runtime's step loop (default: the runtime's default, planner)")
    ap.add_argument("--runtime-arg", action="append", default=[],
                    help="extra runtime flag, repeatable, e.g. --runtime-arg=--itl-target-ms=1000")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    model_dir = args.model_dir or str(ensure_built(args.size, PYTHON_DIR / ".cache" / "models" / args.size))
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    size_mb = (Path(model_dir) / "model.safetensors").stat().st_size / 1e6
    print(f"model: {model_dir} (llama, hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} layers, "
          f"vocab {cfg['vocab_size']}, {cfg.get('torch_dtype')}, {size_mb:.0f} MB)", flush=True)
    print(f"blas: {mlx_runtime.BLAS}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}; "
          f"cores: {os.cpu_count()}; reps: {args.single_reps} single-stream, {args.reps} aggregate (medians)", flush=True)

    levels = [int(x) for x in args.concurrency.split(",") if x]
    direct_runner = Direct(model_dir)
    extra = (["--scheduler", args.scheduler] if args.scheduler else []) + list(args.runtime_arg)
    print(f"runtime flags: {' '.join(extra) or '(defaults)'}", flush=True)
    rt = StampingClient("--model", model_dir, "--max-sequences", str(max(levels + [1])), *extra,
                        stderr=open(os.devnull, "wb"))
    direct, single, agg = [], [], {}
    try:
        rt.call("health", timeout=600)
        rt.call("generate", {"prompt": prompt_for(0), "max_tokens": 8}, timeout=600)  # warm-up
        # Interleave direct and runtime repetitions so drifting machine load hits both alike
        # (the idle side blocks and uses no CPU while the other runs).
        for k in range(args.single_reps):
            print(f"single stream, rep {k + 1}/{args.single_reps} ...", file=sys.stderr, flush=True)
            direct.append(direct_runner.single_stream(args.single_tokens))
            single.append(runtime_single_stream(rt, args.single_tokens, f"single-{k}"))
        del direct_runner
        for c in levels:
            print(f"{c} concurrent sequences ...", file=sys.stderr, flush=True)
            agg[c] = runtime_aggregate(rt, c, args.batch_tokens, args.reps, f"c{c}")
    finally:
        rt.stop()

    d, s = statistics.median(direct), statistics.median(single)
    overhead = (d - s) / d * 100
    print()
    print("single-stream decode (tokens/s, median)")
    print(f"  {'mlx_lm stream_generate (direct)':<36}{d:>10.1f}   reps: {', '.join(f'{x:.1f}' for x in direct)}")
    print(f"  {'mlx_runtime over stdio':<36}{s:>10.1f}   reps: {', '.join(f'{x:.1f}' for x in single)}")
    print(f"  {'runtime cost vs direct':<36}{overhead:>9.1f} %  (aim: < 5 %)")
    print()
    base = statistics.median(agg[levels[0]][0]) if levels and levels[0] == 1 else s
    print(f"aggregate decode through the runtime ({args.batch_tokens} tokens per sequence)")
    print(f"  {'sequences':>9} {'tok/s (median)':>15} {'x single':>9} {'max batch':>10}   reps")
    for c in levels:
        rates, mb = agg[c]
        m = statistics.median(rates)
        print(f"  {c:>9} {m:>15.1f} {m / base:>9.2f} {max(mb):>10}   {', '.join(f'{x:.1f}' for x in rates)}")
    if 16 in agg:
        print(f"\n  at 16 sequences: {statistics.median(agg[16][0]) / base:.2f}x the 1-sequence rate (aim: >= 2.5x)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "model_dir": model_dir, "blas": mlx_runtime.BLAS, "runtime_flags": extra,
            "single_stream": {"direct_tok_s": direct, "runtime_tok_s": single, "overhead_pct": overhead},
            "aggregate": {str(c): {"tok_s": agg[c][0], "max_batch": agg[c][1]} for c in levels},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
