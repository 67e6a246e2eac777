"""gRPC client for the reward server (blocking), mirroring ``RewardClient``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc

from rewardgym.client.retry import (
    RetryPolicy,
    as_items,
    as_reward,
    call_deadline,
    chunks,
    timeout_for,
)
from rewardgym.config import client_settings
from rewardgym.errors import (
    RequestTimeoutError,
    RewardGymError,
    UnavailableError,
    error_from_wire,
)
from rewardgym.proto import convert as conv
from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc
from rewardgym.schema import (
    CompareItem,
    CompareRequest,
    Item,
    LedgerEntry,
    OnError,
    Result,
    RewardInfo,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
    StreamItem,
    StreamResult,
)

__all__ = ["GrpcRewardClient"]

_RETRY = {grpc.StatusCode.UNAVAILABLE}


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
    """The server's error object (from the trailer) decoded as HTTP's is; a call that never
    reached rewardgym (no trailer) is read from its status code alone."""
    code = exc.code()
    body = _error_body(exc) or {"message": exc.details() or ""}
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and "code" not in body:
        return RequestTimeoutError(f"{body['message']} (gRPC {code.name})", grpc_status=code.name)
    if code == grpc.StatusCode.UNAVAILABLE and "code" not in body:
        return UnavailableError(f"{body['message']} (gRPC {code.name})", grpc_status=code.name)
    return error_from_wire(body, grpc_code=code.name, grpc_status=code.name)


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
        retry_budget_s: float | None = None,
    ) -> None:
        self.target = target
        api_key = api_key or client_settings().api_key
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
        self.timeout = timeout
        self.retry = RetryPolicy(retries=retries, backoff_s=backoff_s, budget_s=retry_budget_s)
        self.chunk_size = chunk_size
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        self._stub = pb_grpc.RewardServiceStub(self._channel)

    def _call(self, method: Any, request: Any, deadline: float | None = None) -> Any:
        """One call, with the client's retries; the gRPC deadline is the client's timeout,
        or the call's deadline when that is nearer (the server reads it)."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                timeout = timeout_for(self.timeout, deadline)
                return method(request, timeout=timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                wait = _retry_after(exc)
                retryable = exc.code() in _RETRY or wait is not None
                delay = (
                    self.retry.next_delay(attempt, started, at_least=wait or 0.0, deadline=deadline)
                    if retryable
                    else None
                )
                if delay is None:
                    raise _error_from(exc) from exc
            time.sleep(delay)
            attempt += 1

    def score(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[Item | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """One Result per item, in order. ``deadline_s`` bounds the whole call (the server
        stops scoring at it; the client's gRPC deadline follows it); ``ledger``: record the
        results, each with its ``address``."""
        deadline = call_deadline(deadline_s)
        options = ScoreOptions(on_error=on_error, deadline_s=deadline_s, ledger=ledger)
        results: list[Result] = []
        for chunk in chunks(as_items(items), self.chunk_size):
            request = ScoreRequest(reward=as_reward(reward), items=list(chunk), options=options)
            reply = self._call(self._stub.Score, conv.score_request_to_pb(request), deadline)
            results.extend(conv.score_response_from_pb(reply).results)
        return results

    def compare(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[CompareItem | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """Rank responses with a preference reward (options as for ``score``)."""
        request = CompareRequest(
            reward=as_reward(reward),
            items=[CompareItem.model_validate(i) for i in items],
            options=ScoreOptions(on_error=on_error, deadline_s=deadline_s, ledger=ledger),
        )
        reply = self._call(
            self._stub.Compare, conv.compare_request_to_pb(request), call_deadline(deadline_s)
        )
        return conv.score_response_from_pb(reply).results

    def lookup(self, address: str) -> LedgerEntry:
        """The result the ledger holds at ``address`` (``NotFoundError`` when none)."""
        reply = self._call(self._stub.LookupLedger, pb.LedgerLookupRequest(address=address))
        return conv.ledger_entry_from_pb(reply)

    def score_stream(
        self,
        items: Iterable[StreamItem | dict[str, Any]],
        *,
        timeout: float | None = None,
    ) -> Iterator[StreamResult]:
        """Score items as they come (``{"id", "reward", "item"}`` each; ``items`` may be a
        generator that yields each rollout when it finishes) and yield each ``StreamResult``
        as soon as the server has it (completion order: match them by ``id``). gRPC sends the
        items from its own thread while results arrive, and holds ``items`` back when the
        server has too many unanswered. ``timeout`` bounds the whole stream (none by
        default); a stream is not retried, as it cannot be replayed."""

        def requests() -> Iterator[pb.StreamItem]:
            for sent in items:
                yield conv.stream_item_to_pb(StreamItem.model_validate(sent))

        call = self._stub.ScoreStream(requests(), timeout=timeout, metadata=self._metadata)
        try:
            for answer in call:
                yield conv.stream_result_from_pb(answer)
        except grpc.RpcError as exc:
            raise _error_from(exc) from exc
        finally:
            call.cancel()

    def rewards(self) -> list[RewardInfo]:
        reply = self._call(self._stub.ListRewards, pb.ListRewardsRequest())
        return [conv.reward_info_from_pb(r) for r in reply.rewards]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcRewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
