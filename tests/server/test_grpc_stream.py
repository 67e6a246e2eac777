"""``ScoreStream`` on a real gRPC server: full duplex (a result comes back before the next
item is sent), results matched by id equal the batched ones, a bad item is answered on its
own and the stream goes on."""

from __future__ import annotations

import threading

import grpc
import pytest

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc
from tests.conftest import Server

ITEMS = [
    {"response": f"\\boxed{{{i}}}", "reference": str(i if i % 3 else i + 1)} for i in range(30)
]


def _sent(reward: str) -> list[dict]:
    return [{"id": f"{reward}-{i}", "reward": reward, "item": item} for i, item in enumerate(ITEMS)]


def test_stream_results_equal_the_batched_ones_matched_by_id(server: Server):
    sent = _sent("math") + _sent("exact_match")
    with GrpcRewardClient(server.grpc_target) as rpc:
        got = {r.id: r for r in rpc.score_stream(iter(sent))}
    with RewardClient(server.url) as http:
        batched = {
            "math": http.score("math", ITEMS),
            "exact_match": http.score("exact_match", ITEMS),
        }
    assert len(got) == len(sent)
    for reward, results in batched.items():
        for i, expected in enumerate(results):
            result = got[f"{reward}-{i}"].result
            assert result is not None
            assert result.model_dump(exclude={"latency_ms"}) == expected.model_dump(
                exclude={"latency_ms"}
            )
    scores = {r.id: r.result.score for r in got.values() if r.result is not None}
    assert sum(scores[f"math-{i}"] == 1.0 for i in range(30)) == 20
    assert sum(scores[f"exact_match-{i}"] == 0.0 for i in range(30)) == 30  # boxed != plain


def test_stream_is_full_duplex(server: Server):
    """Each item is sent only after the previous one's result came back: a stream that
    answered only at the end would never get past the first item."""
    answered = threading.Event()
    waits: list[bool] = []

    def one_at_a_time():
        for i in range(5):
            answered.clear()
            yield {"id": str(i), "reward": "exact_match", "item": ITEMS[i]}
            waits.append(answered.wait(timeout=20))

    got = []
    with GrpcRewardClient(server.grpc_target) as rpc:
        for answer in rpc.score_stream(one_at_a_time()):
            got.append(answer.id)
            answered.set()
    assert got == ["0", "1", "2", "3", "4"]
    assert waits == [True] * 5


def test_a_bad_item_is_answered_alone_and_the_stream_goes_on(server: Server):
    good = pb.StreamItem(id="good", name="exact_match")
    good.item.response.text = "Paris"
    good.item.reference.string_value = "paris"
    unknown = pb.StreamItem(id="unknown", name="no_such_reward")
    unknown.item.response.text = "x"
    no_id = pb.StreamItem(name="exact_match")  # id is required
    bad_spec = pb.StreamItem(id="bad spec")
    bad_spec.spec.type = "code"
    bad_spec.spec.params.update({"language": "python"})  # not a param of the code reward
    bad_spec.item.response.text = "print(1)"
    with grpc.insecure_channel(server.grpc_target) as channel:
        stream = pb_grpc.RewardServiceStub(channel).ScoreStream(
            iter([unknown, no_id, bad_spec, good]), timeout=30
        )
        got = {answer.id: answer for answer in stream}
    assert set(got) == {"good", "unknown", "item 2", "bad spec"}
    assert got["good"].result.score == 1.0
    assert got["unknown"].error["code"] == "unknown_reward"
    assert got["item 2"].error["code"] == "invalid_request"
    assert "id" in got["item 2"].error["message"]
    assert got["bad spec"].error["code"] == "config_error"
    assert "language" in str(got["bad spec"].error["errors"])


@pytest.mark.parametrize("reward", ["math", "exact_match"])
def test_an_empty_stream_ends_cleanly(server: Server, reward: str):
    with GrpcRewardClient(server.grpc_target) as rpc:
        assert list(rpc.score_stream(iter([]))) == []


def _nested(depth: int) -> pb.StreamItem:
    item = pb.StreamItem(id="deep", name="exact_match")
    item.item.response.text = "a"
    value = item.item.metadata
    for _ in range(depth):
        value = value.fields["x"].struct_value
    return item


def test_values_json_cannot_hold_are_answered_alone(server: Server):
    """NaN and Infinity in a Struct, and a message nested past protobuf's limit, are that
    item's invalid_request; the items around them are scored (unary calls: INVALID_ARGUMENT)."""
    nan = pb.StreamItem(id="nan", name="exact_match")
    nan.item.response.text = "a"
    nan.item.reference.number_value = float("nan")
    inf = pb.StreamItem(id="inf", name="exact_match")
    inf.item.response.text = "a"
    inf.item.metadata.update({"x": float("inf")})
    good = pb.StreamItem(id="good", name="exact_match")
    good.item.response.text = "Paris"
    good.item.reference.string_value = "paris"
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.RewardServiceStub(channel)
        stream = stub.ScoreStream(iter([nan, _nested(80), inf, good]), timeout=30)
        got = {answer.id: answer for answer in stream}
        assert set(got) == {"nan", "item 2", "inf", "good"}
        for name in ("nan", "inf", "item 2"):
            assert got[name].error["code"] == "invalid_request", got[name]
        assert "NaN" in got["nan"].error["message"]
        assert "decode" in got["item 2"].error["message"]
        assert got["good"].result.score == 1.0
        request = pb.ScoreRequest(name="exact_match", items=[nan.item])
        with pytest.raises(grpc.RpcError) as refused:
            stub.Score(request, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
