"""on_error: one function (``rewardgym.on_error.value_of``) and every front and adapter gives a
failed item the same value under the same policy, through real servers and real envs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rewardgym.client import RewardClient
from rewardgym.envs.single_turn import SingleTurnEnv
from rewardgym.errors import InvalidRequestError, ItemFailedError
from rewardgym.integrations.trl_reward import RewardFunction
from rewardgym.integrations.verl import compute_score
from rewardgym.on_error import FAILURE_KINDS, apply_on_error, as_policy, failure_kind, value_of
from rewardgym.schema import Error, ErrorType, Result
from tests.conftest import Server

FAILED = Result(error=Error(type=ErrorType.INVALID_INPUT, message="no reference"))
TIMED_OUT = Result(error=Error(type=ErrorType.TIMEOUT, message="too slow", retryable=True))
SCORED = Result(score=0.25)
# A reward that fails on an item without a reference: math needs one.
NO_REFERENCE = {"prompt": "1+1?", "response": "\\boxed{2}"}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("null", None), (None, None), ("nan", None), (0.5, 0.5), (-1, -1.0), (0, 0.0)],
)
def test_a_failed_item_gets_what_the_policy_says(policy: Any, expected: float | None):
    assert value_of(FAILED, policy) == expected
    assert value_of(SCORED, policy) == 0.25  # a scored item keeps its score under any policy


def test_missing_fills_a_slot_that_takes_only_numbers():
    assert math.isnan(value_of(FAILED, "null", missing=math.nan))
    assert value_of(FAILED, 1.0, missing=math.nan) == 1.0


def test_raise_names_the_item_and_keeps_its_error():
    with pytest.raises(ItemFailedError) as info:
        value_of(TIMED_OUT, "raise", index=7)
    assert info.value.index == 7
    assert info.value.error.type == ErrorType.TIMEOUT
    assert info.value.http_status == 504
    assert info.value.retryable is False  # the request: the same item would time out again


@pytest.mark.parametrize("bad", [math.nan, math.inf, "zero", True, [], "NULL "])
def test_a_policy_that_is_not_one_is_a_clear_error(bad: Any):
    with pytest.raises(InvalidRequestError, match="on_error must be"):
        as_policy(bad)


def test_failure_kind_is_the_envs_stop_reason():
    assert failure_kind(SCORED) is None
    assert failure_kind(TIMED_OUT) == "timeout"
    assert failure_kind(FAILED) == "reward_error"
    assert set(FAILURE_KINDS) == {"timeout", "reward_error"}


def test_apply_keeps_errors_on_their_items():
    results = apply_on_error([SCORED.model_copy(), FAILED.model_copy(deep=True)], 0.5)
    assert [r.score for r in results] == [0.25, 0.5]
    assert results[0].error is None
    assert results[1].error is not None and results[1].error.type == ErrorType.INVALID_INPUT


def test_every_front_and_adapter_gives_a_failed_item_the_same_value(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    """The same failing item, policy 0.5, through: the HTTP API, an env scoring remotely and in
    process, TRL's reward function remotely and in process, and verl's compute_score."""
    values: dict[str, float | None] = {}
    with RewardClient(server.url) as client:
        [result] = client.score("math", [NO_REFERENCE], on_error=0.5)
    assert result.error is not None  # the error stays on the item
    values["http"] = result.score
    for where, scorer in (("env remote", server.url), ("env in process", None)):
        env = SingleTurnEnv(tasks=[{"prompt": "1+1?"}], reward="math", scorer=scorer, on_error=0.5)
        env.reset(seed=0)
        _, reward, _, _, info = env.step("\\boxed{2}")
        assert info["stop"] == "reward_error"
        values[where] = float(reward)
        env.close()
    for where, url in (("trl remote", server.url), ("trl in process", None)):
        function = RewardFunction("math", url, on_error=0.5)
        [value] = function(["1+1?"], ["\\boxed{2}"])
        values[where] = value
    monkeypatch.setenv("REWARDGYM_ON_ERROR", "0.5")
    row = compute_score("gsm8k", "\\boxed{2}", None, reward="math", url=server.url)
    assert row["reward_error"] == 1.0
    values["verl"] = row["score"]
    assert len(values) == 6
    assert set(values.values()) == {0.5}, values


def test_raise_fails_alike_everywhere(server: Server):
    items = [{"response": "\\boxed{2}", "reference": "2"}, NO_REFERENCE]
    with RewardClient(server.url) as client, pytest.raises(ItemFailedError) as info:
        client.score("math", items, on_error="raise")
    assert info.value.index == 1
    env = SingleTurnEnv(tasks=[{"prompt": "1+1?"}], reward="math", on_error="raise")
    env.reset(seed=0)
    with pytest.raises(ItemFailedError, match="invalid_input"):
        env.step("\\boxed{2}")
    env.close()
    with pytest.raises(ItemFailedError, match="item 0 failed"):
        RewardFunction("math", on_error="raise")(["1+1?"], ["\\boxed{2}"])


@pytest.mark.parametrize("policy", [True, False, "1.5", "1"])
def test_the_wire_refuses_a_policy_that_only_looks_like_a_number(server: Server, policy: Any):
    """``on_error: true`` must not turn every failure into a full reward."""
    import httpx

    body = {"reward": "math", "items": [NO_REFERENCE], "options": {"on_error": policy}}
    response = httpx.post(f"{server.url}/v1/score", json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert "on_error" in response.text
