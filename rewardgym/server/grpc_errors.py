"""How a gRPC call fails: the error's status code, its message in words, and the whole error
object (type, item index, retryable...) in a binary trailer that both clients decode as they
decode an HTTP error body (``rewardgym.errors.error_from_wire``)."""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from rewardgym.errors import RewardGymError

__all__ = ["ERROR_TRAILER", "Undecodable", "abort_args", "error_object", "tolerant"]

ERROR_TRAILER = "rewardgym-error-bin"
"""Trailing metadata key of a failed call's error object (JSON, as HTTP's body has it)."""


_BUDGET = 4096
_KEEP = ("code", "message", "retryable", "index", "item_error", "retry_after_s")


def error_object(exc: RewardGymError) -> bytes:
    """The error as JSON, within gRPC's metadata budget (8 KiB by default): past 4 KiB only
    the code, message, retryable and item fields are kept, and the messages are shortened
    (the JSON itself is never cut, so the client can always read it)."""
    body = exc.to_dict()["error"]
    data = json.dumps(body, default=str).encode()
    if len(data) <= _BUDGET:
        return data
    small = {k: body[k] for k in _KEEP if k in body}
    for limit in (1024, 256, 64):
        small["message"] = _cut(str(small.get("message", "")), limit)
        if isinstance(small.get("item_error"), dict):
            item = dict(small["item_error"])
            item["message"] = _cut(str(item.get("message", "")), limit)
            small["item_error"] = item
        data = json.dumps(small, default=str).encode()
        if len(data) <= _BUDGET:
            break
    return data


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def abort_args(exc: RewardGymError) -> tuple[Any, str, tuple[tuple[str, str | bytes], ...]]:
    """``context.abort``'s arguments for the error: code, message, trailing metadata (the
    error object, and ``retry-after`` in whole seconds when the error says when to retry)."""
    trailer: list[tuple[str, str | bytes]] = [(ERROR_TRAILER, error_object(exc))]
    if "retry_after_s" in exc.detail:
        trailer.append(("retry-after", str(max(1, math.ceil(exc.detail["retry_after_s"])))))
    return getattr(grpc.StatusCode, exc.grpc_code), exc.message, tuple(trailer)


class Undecodable:
    """A request message that does not decode (nested too deeply, malformed): what the
    guard's deserializer hands the handler instead of failing the call with a traceback, so
    a unary call answers INVALID_ARGUMENT and a stream answers that one item."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def tolerant(deserialize: Any) -> Any:
    """``deserialize``, giving ``Undecodable`` for a message it cannot read."""

    def run(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError as exc:
            return Undecodable(f"the message does not decode ({exc})")

    return run
