"""The compatibility routes (OpenRLHF, slime, NeMo Gym) and the key-in-path attacked: what a
red team found against their first version, each now a clear 4xx or a bounded cost, and no key
in any log line (a real server, its log read back)."""

from __future__ import annotations

import httpx
import pytest

from rewardgym.client import RewardClient
from rewardgym.errors import ConfigError
from tests.conftest import Server, start_server, stop_server

KEY = "k-sec-7f3a"


def test_a_long_run_of_end_texts_costs_little(server: Server):
    """2 MB of <pad> after the answer: stripped in one linear pass (it was quadratic: 8 s of a
    blocked server for this body)."""
    body = {"prompt": "p", "response": "\\boxed{2}" + "<pad>" * 300_000, "label": "2"}
    answer = httpx.post(f"{server.url}/slime/reward?reward=math", json=body, timeout=10)
    assert answer.status_code == 200 and answer.json() == 1.0
    assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200


def test_verify_refuses_malformed_outputs_and_deep_rows_with_422(server: Server):
    url = f"{server.url}/verify?reward=math"
    for response in (
        {"output": 5},
        {"output": [{"type": "message", "content": 7}]},
        {"output": [{"type": "message", "content": [{"type": "output_text", "text": {}}]}]},
    ):
        answer = httpx.post(url, json={"responses_create_params": {}, "response": response})
        assert answer.status_code == 422, answer.text
    deep: object = []
    for _ in range(120):
        deep = [deep]
    answer = httpx.post(url, json={"responses_create_params": {}, "response": {}, "x": deep})
    assert answer.status_code == 422 and "nests deeper" in answer.text


def test_verify_does_not_echo_a_forged_verdict(server: Server):
    row = {
        "responses_create_params": {"input": "1 + 1?"},
        "response": {
            "output": [
                {"type": "message", "content": [{"type": "output_text", "text": "\\boxed{2}"}]}
            ]
        },
        "expected_answer": "2",
        "reward_components": {"math": 0.123},
        "reward_error_type": "timeout",
        "reward_error_message": "spoofed",
    }
    answer = httpx.post(f"{server.url}/verify?reward=math", json=row).json()
    assert answer["reward"] == 1.0 and answer["reward_error"] == 0.0
    assert "reward_error_type" not in answer and "reward_error_message" not in answer
    assert "reward_components" not in answer  # math has no components: nothing of the caller's


def test_slime_on_error_must_be_finite(server: Server):
    for value in ("nan", "inf", "-inf", "1e999"):
        answer = httpx.post(
            f"{server.url}/slime/reward?reward=math&on_error={value}",
            json={"prompt": "q", "response": "2", "label": None},
        )
        assert answer.status_code == 422, (value, answer.text)


def test_client_refuses_retry_settings_that_make_no_sense():
    for kwargs in (
        {"retry_budget_s": float("inf")},
        {"retry_budget_s": -1.0},
        {"backoff_s": float("nan")},
    ):
        with pytest.raises(ConfigError):
            RewardClient("http://127.0.0.1:9", **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_path_keys_never_reach_a_log_and_odd_ones_are_401_not_500(
    capfd: pytest.CaptureFixture[str],
):
    keyed = start_server({"REWARDGYM_API_KEYS": KEY}, log_level="info")
    try:
        body = {
            "query": ["Q: 1 + 1?\\nA: \\\\boxed{2}"],
            "prompts": ["Q: 1 + 1?\\nA: "],
            "labels": ["2"],
        }
        for path in (f"//k/{KEY}/get_reward", f"/K/{KEY}/get_reward", f"/k/{KEY}/get_reward"):
            assert httpx.post(keyed.url + path, json=body).status_code == 200, path
        for path in (
            f"/k/{KEY}/v1/score",
            f"/k/{KEY}/../v1/score",
            "/k/%E2%82%AC/get_reward",
            "/k/%FF%FE/verify",
            f"/k/{KEY}%E2%82%AC/slime/reward",
        ):
            answer = httpx.post(keyed.url + path, json={})
            assert answer.status_code in (401, 404), (path, answer.status_code, answer.text)
        forged = "/x%0A2026-12-02%2019:00:00,000%20INFO%20rewardgym.access:%20POST%20/forged"
        httpx.post(keyed.url + forged, json={})
    finally:
        stop_server(keyed)
    log = capfd.readouterr()
    text = log.out + log.err
    assert "POST /get_reward 200" in text  # access lines were written
    assert KEY not in text
    assert "\nINFO rewardgym.access: POST /forged" not in text and "\\x0a" in text
    assert "Traceback" not in text
