"""The gRPC front: RewardService over grpc.aio, with health checking and reflection."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import AsyncIterator
from typing import Any, TypeVar

# Child processes here exec at once (sandboxed programs, pool workers): gRPC's fork handlers
# have nothing to do, and would log a line for every program the code reward starts.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pydantic import ValidationError

from rewardgym.errors import InvalidRequestError, RewardGymError, ServerError
from rewardgym.proto import convert as conv
from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc
from rewardgym.schema import (
    MAX_DEADLINE_S,
    CompareRequest,
    ScoreRequest,
)
from rewardgym.server.auth import API_KEY_ID, Guard
from rewardgym.server.grpc_auth import GrpcContextInterceptor
from rewardgym.server.grpc_errors import ERROR_TRAILER, Undecodable, abort_args
from rewardgym.service import RewardService
from rewardgym.streaming import Incoming, StreamScorer, paced, refused, refused_value

__all__ = ["ERROR_TRAILER", "SERVICE_NAME", "RewardServicer", "start_grpc_server"]

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RewardService"].full_name
MAX_MESSAGE = 64 * 1024 * 1024
_Request = TypeVar("_Request", ScoreRequest, CompareRequest)
_MARGIN_S = 0.05
"""Of the call's deadline, kept for the answer's way back."""


def _within_deadline(request: _Request, context: Any) -> _Request:
    """The request, its deadline no later than the gRPC call's own (``time_remaining``), so
    the work stops when the caller stops waiting."""
    remaining = context.time_remaining()
    if remaining is None or not math.isfinite(remaining):
        return request
    own = request.options.deadline_s or math.inf
    deadline_s = min(own, max(remaining - _MARGIN_S, 0.001), MAX_DEADLINE_S)
    if deadline_s >= own:
        return request
    options = request.options.model_copy(update={"deadline_s": deadline_s})
    return request.model_copy(update={"options": options})


class RewardServicer(pb_grpc.RewardServiceServicer):
    """Thin: convert, call RewardService, convert back; errors become status codes."""

    def __init__(self, service: RewardService) -> None:
        self.service = service

    async def _fail(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        """Abort with the error's gRPC code, its message in words, and the whole error object
        (type, item index, retryable...) in a binary trailer the clients decode as they decode
        an HTTP error body."""
        if isinstance(exc, ValidationError):
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            exc = InvalidRequestError(f"invalid fields: {fields}: {exc}")
        elif not isinstance(exc, RewardGymError):
            log.exception("unexpected error in gRPC call")
            exc = ServerError(f"{type(exc).__name__}: {exc}")
        code, message, trailer = abort_args(exc)
        await context.abort(code, message, trailing_metadata=trailer)

    async def Score(self, request: pb.ScoreRequest, context: Any) -> pb.ScoreResponse:
        try:
            caller = self.service.caller(API_KEY_ID.get())
            scored = _within_deadline(_converted(conv.score_request_from_pb, request), context)
            response = await self.service.score(scored, caller)
        except Exception as exc:
            await self._fail(context, exc)
            raise  # abort raises; this is never reached
        return conv.score_response_to_pb(response)

    async def Compare(self, request: pb.CompareRequest, context: Any) -> pb.ScoreResponse:
        try:
            caller = self.service.caller(API_KEY_ID.get())
            compared = _within_deadline(_converted(conv.compare_request_from_pb, request), context)
            response = await self.service.compare(compared, caller)
        except Exception as exc:
            await self._fail(context, exc)
            raise
        return conv.score_response_to_pb(response)

    async def ScoreStream(
        self, requests: AsyncIterator[pb.StreamItem], context: Any
    ) -> AsyncIterator[pb.StreamResult]:
        """Each item scored as it arrives, each result sent as it is ready (``StreamScorer``);
        an item that breaks the schema is answered with its error and the stream goes on."""
        caller = self.service.caller(API_KEY_ID.get())
        remaining = context.time_remaining()
        deadline = None
        if remaining is not None and math.isfinite(remaining):
            deadline = time.monotonic() + max(remaining - _MARGIN_S, 0.001)
        scorer = StreamScorer(self.service, caller, deadline=deadline)
        items = _stream_items(requests)
        guard = Guard.for_service(self.service)
        if guard.buckets is not None and caller.key_id is not None:
            take = functools.partial(guard.buckets.take, caller.key_id)
            items = paced(items, take, self.service.settings.max_items)
        async with contextlib.aclosing(scorer.run(items)) as answers:
            async for answer in answers:
                yield conv.stream_result_to_pb(answer)

    async def LookupLedger(self, request: pb.LedgerLookupRequest, context: Any) -> pb.LedgerEntry:
        try:
            entry = await self.service.lookup(request.address)
        except Exception as exc:
            await self._fail(context, exc)
            raise
        return conv.ledger_entry_to_pb(entry)

    async def ListRewards(
        self, request: pb.ListRewardsRequest, context: Any
    ) -> pb.ListRewardsResponse:
        return pb.ListRewardsResponse(
            rewards=[conv.reward_info_to_pb(i) for i in self.service.list_rewards()]
        )


async def _stream_items(
    requests: AsyncIterator[pb.StreamItem | Undecodable],
) -> AsyncIterator[Incoming]:
    """Each message as a ``StreamItem`` with its size, or, when it cannot be one, the error
    answering it (the stream goes on)."""
    number = 0
    async for msg in requests:
        number += 1
        where = f"item {number}"
        if isinstance(msg, Undecodable):
            yield refused_value(msg.reason, where, where), 0
            continue
        item_id = msg.id[:200] or where
        try:
            yield conv.stream_item_from_pb(msg), msg.ByteSize()
        except ValidationError as exc:
            yield refused(exc, item_id, where), 0
        except ValueError as exc:  # a number JSON cannot hold (NaN, Infinity)
            yield refused_value(_unreadable(exc), item_id, where), 0


def _unreadable(exc: ValueError) -> str:
    return f"a value JSON cannot hold (NaN or Infinity; send null or a string): {exc}"


def _converted(convert: Any, msg: Any) -> Any:
    """``convert(msg)``; a value JSON cannot hold is an invalid request, not a crash."""
    try:
        return convert(msg)
    except ValidationError:
        raise
    except ValueError as exc:
        raise InvalidRequestError(_unreadable(exc)) from exc


async def start_grpc_server(
    service: RewardService, host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    """Start serving on host:port (0 = any free port); returns the server and the bound port.

    Requests larger than ``max_body_bytes`` are refused with RESOURCE_EXHAUSTED, as over HTTP.
    """
    server = grpc.aio.server(
        interceptors=[GrpcContextInterceptor(Guard.for_service(service))],
        options=[
            ("grpc.max_receive_message_length", service.settings.max_body_bytes),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            # no port sharing: a second server on a busy port fails to start, as over HTTP,
            # instead of taking half of the first one's new connections
            ("grpc.so_reuseport", 0),
        ],
    )
    pb_grpc.add_RewardServiceServicer_to_server(RewardServicer(service), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpcio >= 1.50 raises where it returned 0
        bound = 0
    if bound == 0:
        raise OSError(
            f"cannot bind gRPC to {host}:{port}: the port is in use or not allowed "
            "(choose another with --grpc-port, or REWARDGYM_GRPC_PORT=none to serve HTTP only)"
        )
    await server.start()
    serving = health_pb2.HealthCheckResponse.SERVING
    await health_servicer.set("", serving)
    await health_servicer.set(SERVICE_NAME, serving)
    return server, bound
