"""A JSON answer written at the ASGI edge, before any router: what the API-key middleware and
the OpenEnv front's refusals send."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["send_json"]


async def send_json(
    send: Any, status: int, body: Any, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Send ``body`` as a complete JSON response with ``status``."""
    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*head, *headers]})
    await send({"type": "http.response.body", "body": data})
