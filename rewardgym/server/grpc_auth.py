"""The gRPC front's share of the HTTP middleware: API keys, per-key rate limits, request ids.

Keys are sent as metadata ``authorization: Bearer KEY``; a missing or wrong key is
UNAUTHENTICATED, a key over its rate RESOURCE_EXHAUSTED with ``retry-after`` in the trailing
metadata. Health checking and reflection stay open. Every call runs with a request id
(``x-request-id`` metadata, or a new one), so its log lines carry it as over HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from rewardgym.server.auth import API_KEY_ID, Guard
from rewardgym.server.grpc_errors import abort_args
from rewardgym.server.logs import REQUEST_ID, new_request_id

__all__ = ["GrpcContextInterceptor"]

access_log = logging.getLogger("rewardgym.access")
_GUARDED_PREFIX = "/rewardgym."


class GrpcContextInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the unary calls of the reward service (the only ones it guards)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        if handler is None or not method.startswith(_GUARDED_PREFIX) or not handler.unary_unary:
            return handler
        metadata = dict(details.invocation_metadata or ())
        request_id = new_request_id(_text(metadata.get("x-request-id")))
        key_id, refusal = self._refusal(_text(metadata.get("authorization")) or "")
        inner = handler.unary_unary

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token = REQUEST_ID.set(request_id)
            key_token = API_KEY_ID.set(key_id)
            started = time.perf_counter()
            code = "OK"
            try:
                await context.send_initial_metadata((("x-request-id", request_id),))
                if refusal is not None:
                    code = refusal[0].name
                    await context.abort(*refusal)
                return await inner(request, context)
            except Exception:
                if code == "OK":
                    code = str(getattr(context.code(), "name", None) or "UNKNOWN")
                raise
            finally:
                access_log.info(
                    "gRPC %s %s",
                    method,
                    code,
                    extra={
                        "method": "gRPC",
                        "path": method,
                        "status": code,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
                REQUEST_ID.reset(token)
                API_KEY_ID.reset(key_token)

        return grpc.unary_unary_rpc_method_handler(
            call,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _refusal(self, authorization: str) -> tuple[str | None, tuple[Any, ...] | None]:
        """(the key's id, None) or (id, (code, message[, trailing metadata])) when the call
        may not go ahead."""
        key_id, refusal = self.guard.admit(authorization, "metadata 'authorization: Bearer KEY'")
        if refusal is None:
            return key_id, None
        return key_id, abort_args(refusal.error())


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
