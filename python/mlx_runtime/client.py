"""A small synchronous client for the stdio JSON-RPC runtime (tests and benchmark).

Spawns `python -m mlx_runtime.server ...`, reads its stdout on a thread and
routes lines: responses by id, `tokens` notifications by request_id.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

PYTHON_DIR = Path(__file__).resolve().parent.parent


class RpcFailure(Exception):
    def __init__(self, error: dict):
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error
        self.code = error.get("code")
        self.data = error.get("data") or {}


class RuntimeProcess:
    def __init__(self, *args: str, env: Optional[dict] = None, stderr=None):
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(PYTHON_DIR) + os.pathsep + full_env.get("PYTHONPATH", "")
        if env:
            full_env.update(env)
        self._stderr_file = stderr
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlx_runtime.server", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            cwd=str(PYTHON_DIR), env=full_env,
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._responses: Dict[Any, "queue.Queue"] = {}
        self.notifications: Dict[str, List[dict]] = {}
        self.unrouted: "queue.Queue" = queue.Queue()  # responses with unknown/null id
        self.lines: List[str] = []
        self._wlock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ wire
    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8")
            self.lines.append(line)
            msg = json.loads(line)
            if msg.get("method") == "tokens":
                p = msg["params"]
                with self._lock:
                    self.notifications.setdefault(p["request_id"], []).append(p)
                continue
            rid = msg.get("id")
            with self._lock:
                q = self._responses.get(rid)
            if q is None:
                self.unrouted.put(msg)
            else:
                q.put(msg)

    def send_raw(self, text: str) -> None:
        with self._wlock:
            self.proc.stdin.write(text.encode("utf-8"))
            self.proc.stdin.flush()

    def send(self, method: str, params: Optional[dict] = None, *, rpc_id: Any = None, notify: bool = False) -> Any:
        msg: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if not notify:
            if rpc_id is None:
                rpc_id = next(self._ids)
            msg["id"] = rpc_id
            with self._lock:
                self._responses.setdefault(rpc_id, queue.Queue())
        self.send_raw(json.dumps(msg) + "\n")
        return rpc_id

    def wait(self, rpc_id: Any, timeout: float = 60.0) -> dict:
        with self._lock:
            q = self._responses.setdefault(rpc_id, queue.Queue())
        try:
            msg = q.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no response to id {rpc_id!r} within {timeout}s") from None
        with self._lock:
            self._responses.pop(rpc_id, None)
        return msg

    def call(self, method: str, params: Optional[dict] = None, timeout: float = 60.0) -> Any:
        msg = self.wait(self.send(method, params), timeout)
        if "error" in msg:
            raise RpcFailure(msg["error"])
        return msg["result"]

    def call_raw(self, method: str, params: Optional[dict] = None, timeout: float = 60.0) -> dict:
        return self.wait(self.send(method, params), timeout)

    # ------------------------------------------------------------- helpers
    def start_generate(self, **params: Any) -> Any:
        return self.send("generate", params)

    def generate(self, timeout: float = 120.0, **params: Any) -> dict:
        return self.call("generate", params, timeout)

    def stream_of(self, request_id: str) -> List[dict]:
        with self._lock:
            return list(self.notifications.get(request_id, []))

    def close_stdin(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            try:
                self.call("shutdown", {"mode": "cancel"}, timeout=timeout)
            except Exception:
                pass
            self.close_stdin()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> "RuntimeProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def wait_until(pred, timeout: float = 30.0, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return False
