"""The HTTP front on a real uvicorn server: endpoints, policies, and clear errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import Server

ITEM = {
    "prompt": "2+2?",
    "response": "<think>add</think><answer>\\boxed{4}</answer>",
    "reference": "4",
}


def test_health_and_readiness(http: httpx.Client):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_list_and_get_rewards(http: httpx.Client):
    rewards = http.get("/v1/rewards").json()
    names = [r["name"] for r in rewards]
    assert names[:3] == ["math", "exact_match", "think_answer_format"]
    math = http.get("/v1/rewards/math").json()
    assert math["type"] == "math"
    assert math["taxonomy"] == {
        "basis": "rule",
        "format": "scalar",
        "expression": "explicit",
        "granularity": "outcome",
    }
    assert math["params"]["timeout_s"] == 5


def test_unknown_reward_is_404_naming_the_known_ones(http: httpx.Client):
    response = http.get("/v1/rewards/nope")
    assert response.status_code == 404
    body = response.json()["error"]
    assert body["code"] == "unknown_reward" and "math" in body["known"]
    scored = http.post("/v1/score", json={"reward": "nope", "items": [ITEM]})
    assert scored.status_code == 404 and "math" in scored.json()["error"]["known"]


def test_score_a_batch_in_order(http: httpx.Client):
    items = [ITEM, {**ITEM, "response": "\\boxed{5}"}, {**ITEM, "reference": None}]
    response = http.post("/v1/score", json={"reward": "math_with_format", "items": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["score"] for r in results] == [pytest.approx(1.0), pytest.approx(0.0), None]
    assert results[0]["scores"] == {"math": 1.0, "think_answer_format": 1.0}
    assert results[2]["error"]["type"] == "invalid_input"
    assert all(r["reward"] == "math_with_format" for r in results)


def test_chat_messages_are_accepted(http: httpx.Client):
    item = {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "response": [{"role": "assistant", "content": "\\boxed{4}"}],
        "reference": "4",
    }
    response = http.post("/v1/score", json={"reward": "math", "items": [item]})
    assert response.json()["results"][0]["score"] == 1.0


def test_inline_spec(http: httpx.Client):
    spec = {"type": "string_check", "params": {"operation": "icontains"}}
    response = http.post(
        "/v1/score",
        json={"reward": spec, "items": [{"response": "The answer is PARIS", "reference": "paris"}]},
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["score"] == 1.0


def test_inline_spec_with_bad_params_is_422_listing_allowed(http: httpx.Client):
    spec = {"type": "string_check", "params": {"operaton": "eq"}}
    response = http.post("/v1/score", json={"reward": spec, "items": [ITEM]})
    assert response.status_code == 422
    body = response.json()["error"]
    assert "operation" in body["allowed"] and body["errors"][0]["loc"] == ["operaton"]


def test_unknown_type_is_404_listing_types(http: httpx.Client):
    response = http.post("/v1/score", json={"reward": {"type": "nope"}, "items": [ITEM]})
    assert response.status_code == 404
    assert "math" in response.json()["error"]["known_types"]


@pytest.mark.parametrize(
    ("policy", "status", "score"),
    [("null", 200, None), (0.25, 200, 0.25), (-1, 200, -1.0), ("raise", 422, None)],
)
def test_on_error_policy_per_request(http: httpx.Client, policy: Any, status: int, score: Any):
    body = {
        "reward": "math",
        "items": [ITEM, {**ITEM, "reference": None}],
        "options": {"on_error": policy},
    }
    response = http.post("/v1/score", json=body)
    assert response.status_code == status
    if status == 200:
        bad = response.json()["results"][1]
        assert bad["score"] == score and bad["error"]["type"] == "invalid_input"
    else:
        error = response.json()["error"]
        assert error["code"] == "item_failed" and error["index"] == 1


def test_on_error_policy_per_reward(http: httpx.Client):
    bad = {**ITEM, "reference": None}
    fixed = http.post("/v1/score", json={"reward": "math_or_minus_one", "items": [bad]}).json()
    assert fixed["results"][0]["score"] == -1.0
    raised = http.post("/v1/score", json={"reward": "strict_math", "items": [bad]})
    assert raised.status_code == 422
    overridden = http.post(
        "/v1/score", json={"reward": "strict_math", "items": [bad], "options": {"on_error": "null"}}
    )
    assert overridden.status_code == 200


def test_timeout_under_raise_is_504(http: httpx.Client):
    body = {
        "reward": {"type": "math", "params": {"timeout_s": 0.5}},
        "items": [{"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"}],
        "options": {"on_error": "raise"},
    }
    response = http.post("/v1/score", json=body)
    assert response.status_code == 504
    assert response.json()["error"]["item_error"]["type"] == "timeout"


def test_request_deadline_bounds_the_whole_request(http: httpx.Client):
    body = {
        "reward": "math",
        "options": {"deadline_s": 1.0},
        "items": [{"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"}, ITEM],
    }
    response = http.post("/v1/score", json=body)
    results = response.json()["results"]
    assert results[0]["error"]["type"] == "timeout" and results[1]["score"] == 1.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [ITEM]}, "body.reward"),
        ({"reward": "math", "items": []}, "body.items"),
        ({"reward": "math", "items": [{"prompt": "x"}]}, "body.items.0.response"),
        ({"reward": "math", "items": [ITEM], "options": {"on_error": "zero"}}, "body.options"),
        ({"reward": "math", "items": [ITEM], "extra": 1}, "body.extra"),
        ({"reward": "math", "items": [{**ITEM, "prompt": [{"role": "user"}]}]}, "body.items.0"),
    ],
)
def test_invalid_body_is_422_naming_the_field(http: httpx.Client, body: dict[str, Any], field: str):
    response = http.post("/v1/score", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"], error["message"]


def test_body_over_the_limit_is_413(http: httpx.Client):
    big = {"reward": "exact_match", "items": [{"response": "x" * (3 * 1024 * 1024)}]}
    response = http.post("/v1/score", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["max_bytes"] == 2 * 1024 * 1024


def test_chunked_body_over_the_limit_is_413(server: Server):
    def chunks():
        yield b'{"reward": "exact_match", "items": [{"response": "'
        for _ in range(40):
            yield b"y" * (64 * 1024)
        yield b'"}]}'

    response = httpx.post(
        f"{server.url}/v1/score",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413


def test_too_many_items_is_413_with_the_limit(http: httpx.Client):
    body = {"reward": "exact_match", "items": [{"response": "a", "reference": "a"}] * 3001}
    response = http.post("/v1/score", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["max_items"] == 3000


def test_compare_with_a_scalar_reward_is_422(http: httpx.Client):
    body = {"reward": "math", "items": [{"prompt": "p", "responses": ["a", "b"]}]}
    response = http.post("/v1/compare", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_operation"
    assert "does not compare" in response.json()["error"]["message"]


def test_openapi_and_docs(http: httpx.Client):
    schema = http.get("/openapi.json").json()
    assert {
        "/v1/score",
        "/v1/compare",
        "/v1/rewards",
        "/v1/rewards/{name}",
        "/healthz",
        "/readyz",
    } <= set(schema["paths"])
    assert http.get("/docs").status_code == 200


ONE = [{"response": "a"}]
GARBAGE = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"x"',
    b"\xff\xfe",
    b'{"reward": 5, "items": 5}',
    *(
        json.dumps(body).encode()
        for body in [
            {"reward": {"type": ""}, "items": ONE},
            {"reward": "math", "items": [{"response": {"a": 1}}]},
            {"reward": "math", "items": ONE, "options": {"deadline_s": -1}},
            {"reward": {"type": "weighted", "params": {"components": "x"}}, "items": ONE},
            {
                "reward": {
                    "type": "formula",
                    "params": {"expression": "__import__", "components": []},
                },
                "items": ONE,
            },
            {
                "reward": {"type": "gate", "params": {"gate": "nope", "reward": "math"}},
                "items": ONE,
            },
            {"reward": "math", "items": [{"response": "a", "reference": {"x": [1]}}]},
            {"reward": "math", "items": [{"response": "a", "steps": "not a list"}]},
        ]
    ),
]


@pytest.mark.parametrize("raw", GARBAGE)
def test_no_input_makes_the_server_answer_500(http: httpx.Client, raw: bytes):
    response = http.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (
            b'{"reward": "math", "items": [{"response": "a", "reference": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}]}",
            "nests too deeply",
        ),
        (
            b'{"reward": "math", "items": [{"response": "a", "reference": ' + b"9" * 5000 + b"}]}",
            "number out of range",
        ),
        (
            b'{"reward": "math", "items": [{"response": "a", "metadata": {"x": '
            + b"[" * 300
            + b"]" * 300
            + b'}}], "n": '
            + b"9" * 5000
            + b"}",
            "4300 digits",
        ),
        (b"{", "EOF while parsing"),
        (b"\xff\xfe", "Invalid JSON"),
        (
            b'{"reward": "math", "items": [{"response": "a"}], "options": {"on_error": Infinity}}',
            "on_error",
        ),
        (
            b'{"reward": "math", "items": [{"response": "a"}], "options": {"deadline_s": NaN}}',
            "deadline_s",
        ),
    ],
)
def test_hostile_json_gets_one_clear_422(http: httpx.Client, raw: bytes, says: str):
    """Bodies that are not JSON, nest too deeply or carry huge numbers are one kind of fault:
    422 invalid_request, saying what is wrong and where (no 400 for some, 422 for others)."""
    response = http.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert says in error["message"] + str(error.get("errors")), error
    assert http.get("/healthz").status_code == 200


def test_unknown_path_is_404_in_the_same_error_shape(http: httpx.Client):
    response = http.get("/v1/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "http_error"


def test_metrics_count_requests_and_items(server: Server):
    import re

    def count(name: str, labels: str) -> float:
        found = re.search(rf"{name}\{{{labels}\}} (\S+)", httpx.get(f"{server.url}/metrics").text)
        return float(found.group(1)) if found else 0.0

    requests = 'kind="score",reward="exact_match"'
    ok = 'outcome="ok",reward="exact_match"'
    before = count("rewardgym_requests_total", requests), count("rewardgym_items_total", ok)
    items = [{"prompt": "q", "response": "a", "reference": "a"}] * 3
    httpx.post(f"{server.url}/v1/score", json={"reward": "exact_match", "items": items})
    assert count("rewardgym_requests_total", requests) - before[0] == 1
    assert count("rewardgym_items_total", ok) - before[1] == 3
