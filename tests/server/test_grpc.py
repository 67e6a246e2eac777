"""The gRPC front on a real grpc.aio server: parity with HTTP, health, reflection, errors."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.errors import (
    InvalidRequestError,
    ItemFailedError,
    UnknownRewardError,
    UnsupportedOperationError,
)
from rewardgym.schema import Message, Result
from tests.conftest import Server

BATCH = [
    {
        "prompt": "2+2?",
        "response": "<think>add</think><answer>\\boxed{4}</answer>",
        "reference": "4",
        "metadata": {"id": 1, "tags": ["a"]},
    },
    {
        "prompt": [{"role": "user", "content": "3*3?"}],
        "response": [{"role": "assistant", "content": "\\boxed{9}"}],
        "reference": 9,
    },
    {"prompt": "", "response": "no answer", "reference": "7", "steps": ["s1", "s2"]},
    {"prompt": "x", "response": "\\boxed{1}"},  # no reference: an item error
]


def _comparable(results: list[Result]) -> list[dict]:
    return [r.model_dump(mode="json", exclude={"latency_ms"}) for r in results]


@pytest.mark.parametrize(
    ("reward", "has_errors"),
    [("math", True), ("math_with_format", True), ("exact_match", True), ("length_under_8", False)],
)
def test_grpc_and_http_give_identical_results(server: Server, reward: str, has_errors: bool):
    with RewardClient(server.url) as http, GrpcRewardClient(server.grpc_target) as rpc:
        over_http = http.score(reward, BATCH)
        over_grpc = rpc.score(reward, BATCH)
    assert len(over_grpc) == len(BATCH)
    assert _comparable(over_grpc) == _comparable(over_http)
    assert any(r.error is not None for r in over_grpc) == has_errors  # parity covers errors


def test_grpc_inline_spec_and_policy(server: Server):
    spec = {"type": "string_check", "params": {"operation": "icontains"}, "on_error": 0.5}
    with GrpcRewardClient(server.grpc_target) as rpc:
        results = rpc.score(spec, [{"response": "PARIS!", "reference": "paris"}, {"response": "x"}])
    assert [r.score for r in results] == [1.0, 0.5]


def test_grpc_list_rewards_matches_http(server: Server):
    with RewardClient(server.url) as http, GrpcRewardClient(server.grpc_target) as rpc:
        assert rpc.rewards() == http.rewards()


def test_grpc_errors_map_to_status_codes(server: Server):
    with GrpcRewardClient(server.grpc_target) as rpc:
        with pytest.raises(UnknownRewardError, match="NOT_FOUND"):
            rpc.score("nope", BATCH[:1])
        with pytest.raises(InvalidRequestError, match="INVALID_ARGUMENT"):
            rpc.score({"type": "string_check", "params": {"bad": 1}}, BATCH[:1])
        with pytest.raises(UnsupportedOperationError, match="does not compare"):
            rpc.compare("math", [{"prompt": "p", "responses": ["a", "b"]}])
        with pytest.raises(ItemFailedError):
            rpc.score("strict_math", [BATCH[3]])


def test_grpc_empty_batch_is_invalid_argument(server: Server):
    from rewardgym.proto._gen import reward_pb2, reward_pb2_grpc

    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = reward_pb2_grpc.RewardServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Score(reward_pb2.ScoreRequest(name="math"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "items" in (info.value.details() or "")


def test_grpc_health_and_reflection(server: Server):
    with grpc.insecure_channel(server.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "rewardgym.v1.RewardService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        [reply] = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
        names = {s.name for s in reply.list_services_response.service}
    assert "rewardgym.v1.RewardService" in names and "grpc.health.v1.Health" in names


def test_message_objects_survive_the_round_trip(server: Server):
    item = {
        "prompt": [Message(role="system", content="be brief"), Message(role="user", content="1+1")],
        "response": "\\boxed{2}",
        "reference": "2",
    }
    with GrpcRewardClient(server.grpc_target) as rpc:
        [result] = rpc.score("math", [item])
    assert result.score == 1.0 and result.taxonomy is not None


def test_grpc_message_over_the_body_limit_is_resource_exhausted(server: Server):
    from rewardgym.errors import PayloadTooLargeError

    big = [{"response": "x" * (3 * 1024 * 1024), "reference": "x"}]
    with GrpcRewardClient(server.grpc_target) as rpc, pytest.raises(PayloadTooLargeError):
        rpc.score("exact_match", big)
    with GrpcRewardClient(server.grpc_target) as rpc:
        assert rpc.score("exact_match", [{"response": "x", "reference": "x"}])[0].score == 1.0


def test_grpc_and_http_clients_decode_an_item_failure_alike(server: Server):
    """The error object travels in a trailer: the gRPC client gets the item's index, its type
    and whether it may be retried, as the HTTP client does (it used to parse the message)."""
    from rewardgym.client import RewardClient

    items = [
        {"response": "\\boxed{2}", "reference": "2"},
        {"response": "\\boxed{2}"},  # math needs a reference: invalid_input on item 1
    ]
    seen = []
    with GrpcRewardClient(server.grpc_target) as g, RewardClient(server.url) as h:
        for client in (g, h):
            with pytest.raises(ItemFailedError) as info:
                client.score("math", items, on_error="raise")
            seen.append((info.value.detail["index"], info.value.detail["item_error"]["type"]))
        with pytest.raises(UnknownRewardError) as unknown:
            g.score("nope", items[:1])
        assert "math" in unknown.value.detail["known"]  # the details, not a dict's repr
    assert seen == [(1, "invalid_input"), (1, "invalid_input")]
