"""Body-size limit as pure ASGI middleware (checks Content-Length and the streamed body), and
the one check on a body's text that JSON parsing does not make: lone surrogates."""

from __future__ import annotations

import json
import re
from typing import Any

from rewardgym.asgi import send_json
from rewardgym.errors import InvalidRequestError, PayloadTooLargeError

__all__ = ["BodySizeLimit", "lone_surrogate_path"]

# A JSON escape of a UTF-16 surrogate (\ud800-\udfff); raw UTF-8 cannot encode one, so a body
# without such an escape has no surrogate at all and costs one scan.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(body: bytes) -> str | None:
    """Where a JSON body holds a lone surrogate (``items[3].response``), else None. Such text
    cannot be encoded as UTF-8, so no answer could carry it."""
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the app's own parsing says what is wrong
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return path or "<body>"
        elif isinstance(current, dict):
            for key, inner in current.items():
                if _SURROGATE.search(key):
                    return f"{path}.<key>" if path else "<key>"
                stack.append((inner, f"{path}.{key}" if path else key))
        elif isinstance(current, list):
            stack.extend((inner, f"{path}[{i}]") for i, inner in enumerate(current))
    return None


class BodySizeLimit:
    """Answer 413 for a request body over ``max_bytes`` before it is parsed."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send, int(length))
            return
        # Read the body here (the app would buffer it anyway) so that an oversize body is
        # refused with 413 before any parsing, whether or not it declared its length.
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._reject(send, seen)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        where = lone_surrogate_path(body)
        if where is not None:
            error = InvalidRequestError(
                f"{where} holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), "
                "which is not text; send valid Unicode",
                field=where,
            )
            await send_json(send, error.http_status, error.to_dict())
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Any, size: int) -> None:
        error = PayloadTooLargeError(
            f"request body of {size}+ bytes is over the limit of {self.max_bytes} bytes "
            "(REWARDGYM_MAX_BODY_BYTES)",
            max_bytes=self.max_bytes,
        )
        await send_json(send, error.http_status, error.to_dict())
