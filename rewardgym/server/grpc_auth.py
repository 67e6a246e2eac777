"""The gRPC front's share of the HTTP middleware: API keys, per-key rate limits, request ids.

Keys are sent as metadata ``authorization: Bearer KEY``; a missing or wrong key is
UNAUTHENTICATED, a key over its rate RESOURCE_EXHAUSTED with ``retry-after`` in the trailing
metadata. Health checking and reflection stay open. Every call runs with a request id
(``x-request-id`` metadata, or a new one), so its log lines carry it as over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from rewardgym.errors import InvalidRequestError
from rewardgym.server.auth import API_KEY_ID, Guard
from rewardgym.server.grpc_errors import Undecodable, abort_args, tolerant
from rewardgym.server.logs import REQUEST_ID, new_request_id

__all__ = ["GrpcContextInterceptor"]

access_log = logging.getLogger("rewardgym.access")
_GUARDED_PREFIX = "/rewardgym."


class GrpcContextInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the calls of the reward service (the only ones it guards): unary calls and the
    scoring stream."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not details.method.startswith(_GUARDED_PREFIX):
            return handler
        call = _Call(self, details)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                call.unary(handler.unary_unary),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                call.stream(handler.stream_stream),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        raise TypeError(f"{details.method}: a kind of call the guard does not wrap")

    def _refusal(self, authorization: str) -> tuple[str | None, tuple[Any, ...] | None]:
        """(the key's id, None) or (id, (code, message[, trailing metadata])) when the call
        may not go ahead."""
        key_id, refusal = self.guard.admit(authorization, "metadata 'authorization: Bearer KEY'")
        if refusal is None:
            return key_id, None
        return key_id, abort_args(refusal.error())


class _Call:
    """One call's request id, key and refusal, set around its handler; its access line."""

    def __init__(self, interceptor: GrpcContextInterceptor, details: grpc.HandlerCallDetails):
        metadata = dict(details.invocation_metadata or ())
        self.method = details.method
        self.request_id = new_request_id(_text(metadata.get("x-request-id")))
        self.key_id, self.refusal = interceptor._refusal(_text(metadata.get("authorization")) or "")

    @contextlib.asynccontextmanager
    async def _around(self, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        token = REQUEST_ID.set(self.request_id)
        key_token = API_KEY_ID.set(self.key_id)
        started = time.perf_counter()
        code = "OK"
        try:
            await context.send_initial_metadata((("x-request-id", self.request_id),))
            if self.refusal is not None:
                code = self.refusal[0].name
                await context.abort(*self.refusal)
            yield
        except asyncio.CancelledError:
            if code == "OK":
                code = "CANCELLED"  # the caller went away
            raise
        except BaseException:
            if code == "OK":
                code = str(getattr(context.code(), "name", None) or "UNKNOWN")
            raise
        finally:
            access_log.info(
                "gRPC %s %s",
                self.method,
                code,
                extra={
                    "method": "gRPC",
                    "path": self.method,
                    "status": code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            REQUEST_ID.reset(token)
            API_KEY_ID.reset(key_token)

    def unary(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with self._around(context):
                if isinstance(request, Undecodable):
                    await context.abort(*abort_args(InvalidRequestError(request.reason)))
                return await inner(request, context)

        return call

    def stream(self, inner: Any) -> Any:
        async def call(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            # aclosing: when the caller cancels, the handler's generators close now (and
            # cancel the scoring they started), not whenever they are collected.
            async with (
                self._around(context),
                contextlib.aclosing(inner(requests, context)) as answers,
            ):
                async for answer in answers:
                    yield answer

        return call


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
