"""The gRPC front: RewardService over grpc.aio, with health checking and reflection."""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

# Child processes here exec at once (sandboxed programs, pool workers): gRPC's fork handlers
# have nothing to do, and would log a line for every program the code reward starts.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pydantic import ValidationError

from rewardgym.errors import RewardGymError
from rewardgym.proto import convert as conv
from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc
from rewardgym.server.auth import API_KEY_ID, Guard
from rewardgym.server.grpc_auth import GrpcContextInterceptor
from rewardgym.service import RewardService

__all__ = ["ERROR_TRAILER", "SERVICE_NAME", "RewardServicer", "start_grpc_server"]

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RewardService"].full_name
MAX_MESSAGE = 64 * 1024 * 1024
ERROR_TRAILER = "rewardgym-error-bin"
"""Trailing metadata key of a failed call's error object (JSON, as HTTP's body has it)."""


def _error_object(exc: RewardGymError) -> bytes:
    """The error as JSON, within gRPC's metadata budget (8 KiB by default): past 4 KiB only
    the code, message and item fields are kept."""
    body = exc.to_dict()["error"]
    data = json.dumps(body, default=str).encode()
    if len(data) > 4096:
        keep = ("code", "message", "index", "item_error", "retry_after_s")
        data = json.dumps({k: body[k] for k in keep if k in body}, default=str)[:4096].encode()
    return data


class RewardServicer(pb_grpc.RewardServiceServicer):
    """Thin: convert, call RewardService, convert back; errors become status codes."""

    def __init__(self, service: RewardService) -> None:
        self.service = service

    async def _fail(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        if isinstance(exc, RewardGymError):
            # The message in words; the whole error object (type, item index, retryable...) in
            # a binary trailer the clients decode as they decode an HTTP error body.
            code, message = getattr(grpc.StatusCode, exc.grpc_code), exc.message
            trailer: list[tuple[str, str | bytes]] = [(ERROR_TRAILER, _error_object(exc))]
            if "retry_after_s" in exc.detail:
                wait = str(max(1, math.ceil(exc.detail["retry_after_s"])))
                trailer.append(("retry-after", wait))
            await context.abort(code, message, trailing_metadata=tuple(trailer))
        elif isinstance(exc, ValidationError):
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            code, message = grpc.StatusCode.INVALID_ARGUMENT, f"invalid fields: {fields}: {exc}"
        else:
            log.exception("unexpected error in gRPC call")
            code, message = grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}"
        await context.abort(code, message)

    async def Score(self, request: pb.ScoreRequest, context: Any) -> pb.ScoreResponse:
        try:
            caller = self.service.caller(API_KEY_ID.get())
            response = await self.service.score(conv.score_request_from_pb(request), caller)
        except Exception as exc:
            await self._fail(context, exc)
            raise  # abort raises; this is never reached
        return conv.score_response_to_pb(response)

    async def Compare(self, request: pb.CompareRequest, context: Any) -> pb.ScoreResponse:
        try:
            caller = self.service.caller(API_KEY_ID.get())
            response = await self.service.compare(conv.compare_request_from_pb(request), caller)
        except Exception as exc:
            await self._fail(context, exc)
            raise
        return conv.score_response_to_pb(response)

    async def ListRewards(
        self, request: pb.ListRewardsRequest, context: Any
    ) -> pb.ListRewardsResponse:
        return pb.ListRewardsResponse(
            rewards=[conv.reward_info_to_pb(i) for i in self.service.list_rewards()]
        )


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
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    await server.start()
    serving = health_pb2.HealthCheckResponse.SERVING
    await health_servicer.set("", serving)
    await health_servicer.set(SERVICE_NAME, serving)
    return server, bound
