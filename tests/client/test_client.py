"""Clients: chunking keeps order, timeouts never hang, retries only what can succeed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest

from rewardgym.client import AsyncRewardClient, RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.errors import (
    InvalidRequestError,
    RequestTimeoutError,
    UnavailableError,
    UnknownRewardError,
)
from tests.conftest import Server

ITEMS = [{"response": str(i), "reference": str(i if i % 3 else -1)} for i in range(10)]
EXPECTED = [float(i % 3 != 0) for i in range(10)]


def test_sync_client_splits_batches_and_keeps_order(server: Server):
    with RewardClient(server.url, chunk_size=3) as client:
        results = client.score("exact_match", ITEMS)
    assert [r.score for r in results] == EXPECTED


async def test_async_client_sends_chunks_concurrently_in_order(server: Server):
    async with AsyncRewardClient(server.url, chunk_size=2, max_concurrency=3) as client:
        results = await client.score("exact_match", ITEMS)
        rewards = await client.rewards()
    assert [r.score for r in results] == EXPECTED
    assert "math" in [r.name for r in rewards]


def test_grpc_client_splits_batches(server: Server):
    with GrpcRewardClient(server.grpc_target, chunk_size=4) as client:
        assert [r.score for r in client.score("exact_match", ITEMS)] == EXPECTED


def test_client_errors_are_typed_and_not_retried(server: Server):
    with RewardClient(server.url, retries=3) as client:
        with pytest.raises(UnknownRewardError) as info:
            client.score("nope", ITEMS[:1])
        assert "math" in info.value.detail["known"]
        with pytest.raises(InvalidRequestError):
            client.score({"type": "string_check", "params": {"x": 1}}, ITEMS[:1])
        assert client.health()


def test_client_times_out_on_a_silent_server_fault_injection(silent_server: int):
    with RewardClient(
        f"http://127.0.0.1:{silent_server}", timeout=0.5, retries=1, backoff_s=0.05
    ) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match=r"did not answer within 0\.5 s"):
            client.score("math", ITEMS[:1])
    assert time.monotonic() - started < 5


def test_client_on_a_closed_port_fails_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with RewardClient(f"http://127.0.0.1:{port}", retries=1, backoff_s=0.01) as client:
        with pytest.raises(UnavailableError, match="cannot reach"):
            client.score("math", ITEMS[:1])
        assert not client.health()


def test_client_retries_503_then_succeeds_fault_injection():
    """Fault injection: a transport that answers 503 twice, then a real-looking response."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            return httpx.Response(503, json={"error": {"code": "overloaded", "message": "busy"}})
        return httpx.Response(200, json={"reward": "m", "results": [{"score": 1.0}]})

    client = RewardClient("http://test", retries=3, backoff_s=0.01)
    client._http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    assert [r.score for r in client.score("m", ITEMS[:1])] == [1.0]
    assert len(calls) == 3


def test_client_does_not_retry_422_fault_injection():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(422, json={"error": {"code": "invalid_request", "message": "no"}})

    client = RewardClient("http://test", retries=3, backoff_s=0.01)
    client._http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    with pytest.raises(InvalidRequestError):
        client.score("m", ITEMS[:1])
    assert len(calls) == 1


async def test_async_client_times_out_fault_injection(silent_server: int):
    async with AsyncRewardClient(f"http://127.0.0.1:{silent_server}", timeout=0.5, retries=0) as c:
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(c.score("math", ITEMS[:1]), timeout=10)


def test_grpc_client_on_a_closed_port_fails_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GrpcRewardClient(f"127.0.0.1:{port}", timeout=1, retries=1, backoff_s=0.01)
    with client, pytest.raises(UnavailableError, match="UNAVAILABLE"):
        client.score("math", ITEMS[:1])


@pytest.mark.slow
def test_a_retry_budget_rides_out_a_server_that_starts_late():
    """A trainer's reward call made while the server restarts: with a retry budget the client
    keeps trying (jittered backoff) until the server answers, then scores normally."""
    from tests.conftest import free_port, start_server, stop_server

    port = free_port()
    started = threading.Event()
    holder: list[Server] = []

    def start_later() -> None:
        time.sleep(1.5)
        holder.append(start_server(port=port))
        started.set()

    threading.Thread(target=start_later, daemon=True).start()
    client = RewardClient(f"http://127.0.0.1:{port}", retry_budget_s=120, backoff_s=0.2)
    try:
        results = client.score("exact_match", [{"response": "Paris", "reference": "Paris"}])
        assert [r.score for r in results] == [1.0]
        assert started.is_set()
    finally:
        client.close()
        started.wait(120)
        for srv in holder:
            stop_server(srv)


def test_without_budget_left_the_client_says_how_many_tries_it_made():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RewardClient(f"http://127.0.0.1:{port}", retry_budget_s=0.5, backoff_s=0.05)
    with pytest.raises(UnavailableError, match=r"cannot reach .* \(\d+ tries\)"):
        client.score("exact_match", [{"response": "x"}])


def test_an_item_that_timed_out_is_not_asked_again(server: Server):
    """Under on_error: raise, an item's timeout is a 504 for the request; asking again would
    only time out again, so even a client with a retry budget sends it once."""
    from rewardgym.errors import ItemFailedError

    sent: list[httpx.Request] = []
    client = RewardClient(server.url, retry_budget_s=60, backoff_s=0.05)
    client._http.event_hooks["request"].append(sent.append)
    slow = {"type": "math", "params": {"timeout_s": 0.001}}
    item = {"response": "\\boxed{" + "+".join(["x^2"] * 400) + "}", "reference": "1"}
    with client, pytest.raises(ItemFailedError, match="timeout"):
        client.score(slow, [item], on_error="raise")
    assert len(sent) == 1
