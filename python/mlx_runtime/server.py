"""JSON-RPC 2.0 server over stdio (one JSON object per line). See PROTOCOL.md.

    python -m mlx_runtime.server [--model DIR] [--name NAME] [--max-sequences N]
                                 [--max-kv-bytes N] [--prompt-cache-entries N] ...

stdout carries only protocol lines; everything else (logs, library prints, even
C-level writes to fd 1) goes to stderr. A reader thread keeps reading stdin while
the engine thread (the main thread) steps the batch; the engine drains the inbox
between decode steps, so new requests join the running batch and cancels take
effect at the next step.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Any, Optional

from . import BLAS  # noqa: F401  (activates the optimised BLAS before mlx.core is imported)
from . import memlog, steplog, tracing
from .errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    invalid_param,
)

_EOF = object()


class Output:
    """Thread-safe writer of protocol lines to the real stdout."""

    def __init__(self, fd: int):
        self._f = os.fdopen(fd, "wb", buffering=0)
        self._lock = threading.Lock()
        self.broken = False

    @staticmethod
    def _line(obj: dict) -> bytes:
        return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")

    def send(self, obj: dict) -> None:
        self._write(self._line(obj))

    def send_many(self, objs: list) -> None:
        """Several protocol lines in one write (the engine's per-step notifications)."""
        if objs:
            self._write(b"".join(self._line(o) for o in objs))

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                self._f.write(data)
            except (BrokenPipeError, OSError):
                self.broken = True


def _context_buckets(text: str):
    """argparse type of --context-buckets (length_buckets.py imports mlx: imported here, after the BLAS)."""
    from .length_buckets import parse_bounds

    try:
        return parse_bounds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _admit_group(text: str):
    """argparse type of --admit-group."""
    from .admit_group import parse_admit_group

    try:
        return parse_admit_group(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _env_int(name: str):
    """A positive integer from the environment, else None (unset, empty or not a positive integer)."""
    v = os.environ.get(name, "").strip()
    return int(v) if v.isdigit() and int(v) > 0 else None


def _reader(stream, inbox: "queue.Queue", out: Output) -> None:
    for raw in stream:
        t = time.perf_counter()
        line = raw.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            # RecursionError: a line nested deeper than the interpreter's recursion limit
            # ('[' * 100000). Uncaught, it killed this thread and the runtime stopped reading.
            out.send({"jsonrpc": "2.0", "id": None,
                      "error": RpcError(PARSE_ERROR, f"parse error: {type(e).__name__}: {str(e)[:200]}").to_json()})
            continue
        except Exception as e:  # noqa: BLE001 - the reader must never die on a bad line
            out.send({"jsonrpc": "2.0", "id": None,
                      "error": RpcError(PARSE_ERROR, f"parse error: {type(e).__name__}").to_json()})
            continue
        inbox.put((t, msg))
    inbox.put((time.perf_counter(), _EOF))


def engine_config(args: argparse.Namespace):
    """The EngineConfig the command line asks for (the engine module is imported after the BLAS)."""
    from .engine import EngineConfig

    return EngineConfig(
        max_sequences=args.max_sequences, max_kv_bytes=args.max_kv_bytes, prompt_cache_entries=args.prompt_cache_entries,
        prefill_step_size=args.prefill_step_size, prefill_batch_size=args.prefill_batch_size,
        context_buckets=args.context_buckets, admit_group=args.admit_group,
        default_max_tokens=args.default_max_tokens, enable_fault_injection=args.enable_fault_injection,
        scheduler=args.scheduler, itl_target_ms=args.itl_target_ms, decode_share_max=args.decode_share_max,
        min_chunk_tokens=args.min_chunk_tokens, max_chunk_tokens=args.max_chunk_tokens,
        latency_floor_factor=args.latency_floor_factor, cost_base_ms=args.cost_base_ms,
        cost_per_sequence_ms=args.cost_per_sequence_ms, cost_per_kilo_context_ms=args.cost_per_kilo_context_ms,
        cost_prefill_pass_ms=args.cost_prefill_pass_ms, cost_per_kilo_prefill_tokens_ms=args.cost_per_kilo_prefill_tokens_ms,
    )


class Server:
    def __init__(self, args: argparse.Namespace, out: Output):
        from .engine import Engine

        self.out = out
        self.inbox: "queue.Queue" = queue.Queue()
        cfg = engine_config(args)
        self.engine = Engine(cfg, out.send, out.send_many, tracing=tracing.from_env())
        self.shutdown_waiters: list = []  # rpc ids of shutdown calls to answer on exit
        self.exit_requested = False

    # ----------------------------------------------------------------- dispatch
    def handle(self, received_at: float, msg: Any) -> None:
        if not isinstance(msg, dict):
            self.out.send({"jsonrpc": "2.0", "id": None, "error": RpcError(
                INVALID_REQUEST, "invalid request: expected a JSON object (batches are not supported)").to_json()})
            return
        rpc_id = msg.get("id")
        is_notification = "id" not in msg
        if (rpc_id is not None and not isinstance(rpc_id, (str, int, float))) or isinstance(rpc_id, bool):
            self._error(None, RpcError(INVALID_REQUEST, "invalid request: id must be a string, number or null"))
            return
        if msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
            self._error(rpc_id, RpcError(INVALID_REQUEST, "invalid request: need jsonrpc \"2.0\" and a string method"))
            return
        method = msg["method"]
        params = msg.get("params", {})
        if params is None:
            params = {}
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "invalid params: params must be an object", {"field": "params"})
            handler = getattr(self, "m_" + method, None)
            if handler is None or method.startswith("_"):
                raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}", {"method": method})
            if method == "generate":
                self.engine.generate(None if is_notification else rpc_id, params, received_at)
                return  # the result is sent when the request finishes
            if method == "shutdown":
                self.m_shutdown(params, rpc_id, is_notification)
                return
            result = handler(params)
        except RpcError as e:
            if not is_notification:
                self._error(rpc_id, e)
            return
        except Exception as e:  # one request failing must not take the server down
            sys.stderr.write(traceback.format_exc())
            if not is_notification:
                self._error(rpc_id, RpcError(INTERNAL_ERROR, f"internal error: {type(e).__name__}: {e}"))
            return
        if not is_notification:
            self.out.send({"jsonrpc": "2.0", "id": rpc_id, "result": result})

    def _error(self, rpc_id: Any, e: RpcError) -> None:
        self.out.send({"jsonrpc": "2.0", "id": rpc_id, "error": e.to_json()})

    # ------------------------------------------------------------------ methods
    def m_load_model(self, params: dict) -> dict:
        path = params.get("path")
        if not isinstance(path, str) or not path:
            raise invalid_param("path", "must be a non-empty string")
        name = params.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise invalid_param("name", "must be a non-empty string")
        return self.engine.load_model(path, name)

    def m_unload_model(self, params: dict) -> dict:
        name = params.get("name", params.get("model"))
        if not isinstance(name, str) or not name:
            raise invalid_param("name", "must be a non-empty string")
        return self.engine.unload_model(name)

    def m_list_models(self, params: dict) -> dict:
        return self.engine.list_models()

    def m_generate(self, params: dict) -> None:  # dispatched specially
        raise AssertionError

    def m_cancel(self, params: dict) -> dict:
        rid = params.get("request_id")
        if not isinstance(rid, str) or not rid:
            raise invalid_param("request_id", "must be a non-empty string")
        return self.engine.cancel(rid)

    def m_tokenize(self, params: dict) -> dict:
        return self.engine.tokenize(params)

    def m_embed(self, params: dict) -> dict:
        return self.engine.embed(params)

    def m_stats(self, params: dict) -> dict:
        return {**self.engine.stats(), "blas": BLAS}  # which BLAS runs the CPU matmuls (mlx_runtime.blas)

    def m_health(self, params: dict) -> dict:
        return self.engine.health()

    def m_shutdown(self, params: dict, rpc_id: Any = None, is_notification: bool = True) -> None:
        mode = params.get("mode", "drain")
        if mode not in ("drain", "cancel"):
            raise invalid_param("mode", "must be \"drain\" or \"cancel\"")
        self.engine.shutting_down = True
        if mode == "cancel":
            self._cancelled_on_shutdown = getattr(self, "_cancelled_on_shutdown", 0) + self.engine.cancel_all()
        if not is_notification:
            self.shutdown_waiters.append(rpc_id)
        self.exit_requested = True

    # --------------------------------------------------------------------- loop
    def run(self) -> int:
        eof = False
        while True:
            # Block only when idle; otherwise drain whatever arrived since the last step.
            block = not self.engine.has_work() and not self.exit_requested and not eof
            while True:
                try:
                    t, msg = self.inbox.get(block=block, timeout=None)
                except queue.Empty:
                    break
                block = False
                if msg is _EOF:
                    eof = True
                    self.engine.shutting_down = True
                    self.engine.cancel_all()  # nobody can cancel any more: stop spending compute
                    continue
                self.handle(t, msg)
            if self.engine.has_work():
                self.engine.step()
                continue
            if self.exit_requested or eof:
                break
        result = {"ok": True, "cancelled": getattr(self, "_cancelled_on_shutdown", 0),
                  "counters": dict(self.engine.counters)}
        for rid in self.shutdown_waiters:
            self.out.send({"jsonrpc": "2.0", "id": rid, "result": result})
        self.engine.tracing.shutdown()  # exports the spans still buffered
        return 0


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m mlx_runtime.server",
                                 description="mlx-serving MLX runtime: JSON-RPC 2.0 over stdio")
    ap.add_argument("--model", help="model directory to load at start-up (optional; see load_model)")
    ap.add_argument("--name", help="name of the start-up model (default: directory name)")
    ap.add_argument("--max-sequences", type=int, default=64, help="max concurrent sequences (default 64)")
    ap.add_argument("--max-kv-bytes", type=int, default=_env_int("MLX_RUNTIME_MAX_KV_BYTES"),
                    help="KV-cache budget in bytes for admitted sequences + prompt cache (default: "
                         "MLX_RUNTIME_MAX_KV_BYTES, else on a GPU 90%% of its memory less the weights, on the CPU "
                         "25%% of RAM; see mlx_runtime/kv_budget.py)")
    ap.add_argument("--prompt-cache-entries", type=int, default=4096,
                    help="sessions the prompt cache keeps (LRU; also bounded by --max-kv-bytes)")
    from .engine import EngineConfig
    from .planned_loop import SCHEDULERS

    d = EngineConfig()
    ap.add_argument("--scheduler", choices=list(SCHEDULERS), default=os.environ.get("MLX_RUNTIME_SCHEDULER", d.scheduler),
                    help=f"step loop: mlx-lm's BatchGenerator or the runtime's planned loop (default: "
                         f"MLX_RUNTIME_SCHEDULER, else {d.scheduler})")
    ap.add_argument("--itl-target-ms", type=float, default=d.itl_target_ms,
                    help=f"planner: inter-token latency target a step is sized to ({d.itl_target_ms:g})")
    ap.add_argument("--decode-share-max", type=float, default=d.decode_share_max,
                    help=f"planner: largest share of the target the decode pass may take when admitting ({d.decode_share_max:g})")
    ap.add_argument("--min-chunk-tokens", type=int, default=d.min_chunk_tokens, help=f"planner: smallest prefill token budget ({d.min_chunk_tokens})")
    ap.add_argument("--max-chunk-tokens", type=int, default=d.max_chunk_tokens, help=f"planner: largest prefill token budget ({d.max_chunk_tokens})")
    ap.add_argument("--latency-floor-factor", type=float, default=d.latency_floor_factor,
                    help=f"planner: the target is at least this many times one sequence's decode step ({d.latency_floor_factor:g})")
    ap.add_argument("--cost-base-ms", type=float, default=d.cost_base_ms, help="step cost prior: fixed ms per step")
    ap.add_argument("--cost-per-sequence-ms", type=float, default=d.cost_per_sequence_ms, help="step cost prior: ms per decoding sequence")
    ap.add_argument("--cost-per-kilo-context-ms", type=float, default=d.cost_per_kilo_context_ms,
                    help="step cost prior: ms per 1024 context tokens of the decode batch")
    ap.add_argument("--cost-prefill-pass-ms", type=float, default=d.cost_prefill_pass_ms,
                    help="step cost prior: fixed ms of a step with prefill")
    ap.add_argument("--cost-per-kilo-prefill-tokens-ms", type=float, default=d.cost_per_kilo_prefill_tokens_ms,
                    help="step cost prior: ms per 1024 prefill tokens")
    ap.add_argument("--prefill-step-size", type=int, default=_env_int("MLX_RUNTIME_PREFILL_STEP_SIZE") or 512,
                    help="batch-generator: prompt tokens per prefill chunk (env MLX_RUNTIME_PREFILL_STEP_SIZE; 512)")
    ap.add_argument("--prefill-batch-size", type=int, default=8, help="batch-generator: prompts prefilled together")
    ap.add_argument("--context-buckets", type=_context_buckets, default=os.environ.get("MLX_RUNTIME_CONTEXT_BUCKETS", ""),
                    help="batch-generator: one batch per context-length bucket, upper edges in tokens, e.g. 2048 or "
                         "1024,4096 (length_buckets.py; env MLX_RUNTIME_CONTEXT_BUCKETS; default: one batch)")
    ap.add_argument("--admit-group", type=_admit_group, default=os.environ.get("MLX_RUNTIME_ADMIT_GROUP", ""),
                    help="batch-generator: hold waiting prompts while the batch decodes until SIZE have gathered or "
                         "the oldest waited MS, e.g. 4:200 (admit_group.py; env MLX_RUNTIME_ADMIT_GROUP; default: at once)")
    ap.add_argument("--default-max-tokens", type=int, default=256)
    ap.add_argument("--enable-fault-injection", action="store_true",
                    help="accept generate's `fault` param (tests only)")
    args = ap.parse_args(argv)
    if args.max_sequences < 1:
        ap.error("--max-sequences must be >= 1")
    try:
        engine_config(args).validate()
    except ValueError as e:
        ap.error(str(e))
    return args


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    # Keep the real stdout for the protocol; send fd 1 (stray prints, C libs) to stderr.
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = Output(proto_fd)
    server = Server(args, out)
    if args.model:
        try:
            server.engine.load_model(args.model, args.name)
        except RpcError as e:
            print(f"[mlx_runtime] failed to load --model: {e.message}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, lambda *_: server.inbox.put((time.perf_counter(), _EOF)))
    reader = threading.Thread(target=_reader, args=(sys.stdin.buffer, server.inbox, out), daemon=True)
    reader.start()
    memlog.start("mlx_runtime")
    steplog.start("mlx_runtime")
    print(f"[mlx_runtime] ready (pid {os.getpid()}, blas={BLAS})", file=sys.stderr, flush=True)
    code = server.run()
    print("[mlx_runtime] exiting", file=sys.stderr, flush=True)
    sys.stderr.flush()
    os._exit(code)  # do not wait for the daemon reader blocked on stdin


if __name__ == "__main__":
    sys.exit(main())
