"""JSON-RPC error codes used by the runtime (see PROTOCOL.md)."""

from __future__ import annotations

from typing import Any, Optional

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Server errors (-32000..-32099)
MODEL_NOT_FOUND = -32001
TOO_MANY_SEQUENCES = -32002
KV_CAPACITY_EXCEEDED = -32003
DUPLICATE_REQUEST_ID = -32004
SHUTTING_DOWN = -32005
CONTEXT_LENGTH_EXCEEDED = -32006
MODEL_LOAD_FAILED = -32007
GENERATION_FAILED = -32008

REASONS = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
    MODEL_NOT_FOUND: "model_not_found",
    TOO_MANY_SEQUENCES: "too_many_sequences",
    KV_CAPACITY_EXCEEDED: "kv_capacity_exceeded",
    DUPLICATE_REQUEST_ID: "duplicate_request_id",
    SHUTTING_DOWN: "shutting_down",
    CONTEXT_LENGTH_EXCEEDED: "context_length_exceeded",
    MODEL_LOAD_FAILED: "model_load_failed",
    GENERATION_FAILED: "generation_failed",
}


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Optional[dict] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = dict(data or {})
        self.data.setdefault("reason", REASONS.get(code, "server_error"))

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "data": self.data}


def invalid_param(field: str, message: str, **extra: Any) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {field}: {message}", {"field": field, **extra})
