"""gRPC client for the reward server (blocking), mirroring ``RewardClient``."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import grpc

from rewardgym.client.http import _backoff, _chunks, as_items, as_reward
from rewardgym.errors import (
    ForbiddenError,
    InvalidRequestError,
    ItemFailedError,
    NotImplementedYetError,
    OverloadedError,
    PayloadTooLargeError,
    RateLimitedError,
    RewardGymError,
    UnauthorizedError,
    UnknownRewardError,
    error_from_body,
)
from rewardgym.proto import convert as conv
from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc
from rewardgym.schema import (
    CompareItem,
    CompareRequest,
    Error,
    ErrorType,
    Item,
    OnError,
    Result,
    RewardInfo,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
)

__all__ = ["GrpcRewardClient"]

_RETRY = {grpc.StatusCode.UNAVAILABLE}
_BY_CODE: dict[grpc.StatusCode, type[RewardGymError]] = {
    grpc.StatusCode.NOT_FOUND: UnknownRewardError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: PayloadTooLargeError,
    grpc.StatusCode.UNIMPLEMENTED: NotImplementedYetError,
    grpc.StatusCode.UNAVAILABLE: OverloadedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthorizedError,
    grpc.StatusCode.PERMISSION_DENIED: ForbiddenError,
}


def _retry_after(exc: grpc.RpcError) -> float | None:
    """The server's ``retry-after`` trailing metadata (rate limits, overload), in seconds."""
    for key, value in getattr(exc, "trailing_metadata", lambda: None)() or ():
        if key == "retry-after":
            try:
                return min(float(value), 30.0)
            except ValueError:
                return None
    return None


def _error_body(exc: grpc.RpcError) -> dict[str, Any] | None:
    """The server's error object from the ``rewardgym-error-bin`` trailer, if any."""
    for key, value in getattr(exc, "trailing_metadata", lambda: None)() or ():
        if key == "rewardgym-error-bin":
            try:
                body = json.loads(value)
            except (ValueError, TypeError):
                return None
            return body if isinstance(body, dict) else None
    return None


def _error_from(exc: grpc.RpcError) -> RewardGymError:
    code, details = exc.code(), exc.details() or ""
    body = _error_body(exc)
    if body is not None:
        fallback = _BY_CODE.get(code, RewardGymError)
        return error_from_body(body, fallback, f"gRPC {code.name}", grpc_status=code.name)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and _retry_after(exc) is not None:
        return RateLimitedError(f"{details} (gRPC {code.name})", grpc_status=code.name)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and details.startswith("item "):
        return ItemFailedError(-1, Error(type=ErrorType.TIMEOUT, message=details))
    if code == grpc.StatusCode.FAILED_PRECONDITION and details.startswith("item "):
        return ItemFailedError(-1, Error(type=ErrorType.INVALID_INPUT, message=details))
    cls = _BY_CODE.get(code, RewardGymError)
    return cls(f"{details} (gRPC {code.name})", grpc_status=code.name)


class GrpcRewardClient:
    """Blocking gRPC client: per-call timeout, retries for UNAVAILABLE and rate limits only
    (waiting at least the server's ``retry-after``), chunked batches."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.25,
        chunk_size: int = 1024,
        api_key: str | None = None,
    ) -> None:
        self.target = target
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
        self.timeout = timeout
        self.retries = retries
        self.backoff_s = backoff_s
        self.chunk_size = chunk_size
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        self._stub = pb_grpc.RewardServiceStub(self._channel)

    def _call(self, method: Any, request: Any) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return method(request, timeout=self.timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                wait = _retry_after(exc)
                retryable = exc.code() in _RETRY or wait is not None
                if not retryable or attempt == self.retries:
                    raise _error_from(exc) from exc
            time.sleep(max(_backoff(attempt, self.backoff_s), wait or 0.0))
        raise AssertionError("unreachable")

    def score(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[Item | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
    ) -> list[Result]:
        """One Result per item, in order."""
        options = ScoreOptions(on_error=on_error, deadline_s=deadline_s)
        results: list[Result] = []
        for chunk in _chunks(as_items(items), self.chunk_size):
            request = ScoreRequest(reward=as_reward(reward), items=list(chunk), options=options)
            reply = self._call(self._stub.Score, conv.score_request_to_pb(request))
            results.extend(conv.score_response_from_pb(reply).results)
        return results

    def compare(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[CompareItem | dict[str, Any]],
    ) -> list[Result]:
        """Rank responses with a preference reward."""
        request = CompareRequest(
            reward=as_reward(reward), items=[CompareItem.model_validate(i) for i in items]
        )
        reply = self._call(self._stub.Compare, conv.compare_request_to_pb(request))
        return conv.score_response_from_pb(reply).results

    def rewards(self) -> list[RewardInfo]:
        reply = self._call(self._stub.ListRewards, pb.ListRewardsRequest())
        return [conv.reward_info_from_pb(r) for r in reply.rewards]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcRewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
