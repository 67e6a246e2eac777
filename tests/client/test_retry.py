"""The retry policy both clients share, and deadlines end to end: a call's deadline bounds how
long a client waits and retries, and reaches the server (HTTP options, gRPC's deadline)."""

from __future__ import annotations

import time

import httpx
import pytest

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.client.retry import DEADLINE_GRACE_S, RetryPolicy, timeout_for
from rewardgym.errors import ConfigError, ItemFailedError, RequestTimeoutError
from rewardgym.schema import ScoreOptions, ScoreRequest
from rewardgym.server.grpc import _within_deadline
from tests.conftest import Server


def test_retries_counts_tries_then_stops():
    policy = RetryPolicy(retries=2, backoff_s=0.01)
    started = time.monotonic()
    delays = [policy.next_delay(attempt, started) for attempt in range(4)]
    assert [d is not None for d in delays] == [True, True, False, False]
    assert all(0.005 <= d <= 0.04 for d in delays[:2] if d is not None)


def test_a_budget_replaces_the_count():
    policy = RetryPolicy(retries=0, backoff_s=0.01, budget_s=5.0)
    assert policy.next_delay(3, time.monotonic()) is not None  # within the budget
    assert policy.next_delay(0, time.monotonic() - 6.0) is None  # the budget is spent


def test_retry_after_is_honoured_and_a_deadline_is_never_passed():
    policy = RetryPolicy(retries=5, backoff_s=0.01)
    now = time.monotonic()
    assert policy.next_delay(0, now, at_least=2.0) == 2.0
    assert policy.next_delay(0, now, at_least=2.0, deadline=now + 1.0) is None
    assert timeout_for(60.0, now + 1.0) <= 1.0
    assert timeout_for(60.0, None) == 60.0


@pytest.mark.parametrize("kwargs", [{"backoff_s": -1}, {"budget_s": float("inf")}, {"retries": -1}])
def test_bad_retry_settings_are_clear_errors(kwargs: dict[str, float]):
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_calls_deadline_bounds_the_wait_and_the_retries_fault_injection(silent_server: int):
    """timeout 60 s and a retry budget of 60 s, but deadline_s=0.5: the call ends at the
    deadline plus the grace, as a timeout, not a minute later."""
    client = RewardClient(f"http://127.0.0.1:{silent_server}", timeout=60, retry_budget_s=60)
    started = time.monotonic()
    with client, pytest.raises(RequestTimeoutError, match="did not answer"):
        client.score("math", [{"response": "1"}], deadline_s=0.5)
    assert time.monotonic() - started < 0.5 + DEADLINE_GRACE_S + 3.0


def test_an_item_failure_is_never_resent_fault_injection():
    """A 504 or 422 that says an item failed is the answer, not a fault: sent once."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        error = {"type": "timeout", "message": "slow", "retryable": True}
        body = {
            "error": {
                "code": "item_failed",
                "message": "item 3 failed",
                "index": 3,
                "item_error": error,
            }
        }
        return httpx.Response(504, json=body)

    client = RewardClient("http://test", retry_budget_s=30, backoff_s=0.01)
    client._http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    with pytest.raises(ItemFailedError) as info:
        client.score("m", [{"response": "a"}], on_error="raise")
    assert len(calls) == 1
    assert info.value.index == 3 and info.value.error.retryable


def test_the_grpc_servicer_scores_within_the_calls_own_deadline():
    class Context:  # the one method of grpc.aio.ServicerContext the servicer reads here
        def __init__(self, remaining: float | None) -> None:
            self.remaining = remaining

        def time_remaining(self) -> float | None:
            return self.remaining

    request = ScoreRequest(reward="math", items=[{"response": "1"}])
    assert _within_deadline(request, Context(1.0)).options.deadline_s == pytest.approx(0.95)
    assert _within_deadline(request, Context(None)).options.deadline_s is None
    own = request.model_copy(update={"options": ScoreOptions(deadline_s=0.2)})
    assert _within_deadline(own, Context(10.0)).options.deadline_s == 0.2


def test_a_grpc_deadline_travels_to_the_server(server: Server):
    """A gRPC deadline shorter than the slow item: the server stops at it and answers, so
    the item comes back as a timeout, not the call as DEADLINE_EXCEEDED."""
    slow = {"type": "math", "params": {"timeout_s": 5}}
    item = {"response": "\\boxed{" + "+".join(["x^2"] * 3000) + "}", "reference": "1"}
    with GrpcRewardClient(server.grpc_target, timeout=1.5, retries=0) as client:
        try:
            [result] = client.score(slow, [item])
        except RequestTimeoutError:  # the box was too slow to answer in the margin: say so
            pytest.fail("the server did not stop at the gRPC call's deadline")
    assert result.error is not None and result.error.type == "timeout", result
