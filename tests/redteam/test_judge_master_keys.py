"""Master keys ("One Token to Fool LLM-as-a-Judge"): replies with nothing to judge, such as a
lone ":" or "Thought process:", get every LLM judge's lowest score without a judge call.

The judge backend is a scripted local server that counts calls and always answers the best
verdict (fault injection: a judge fooled by every master key), so a floor is what keeps the
score down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server, scripted_judge
from tests.judges.test_judge_faults import _completion
from tests.redteam.catalogue import MASTER_KEYS

CALLS: list[dict[str, Any]] = []


def _fooled_verdict(user: str) -> str:
    """The best verdict for what the judge was asked."""
    if steps := re.search(r"There are (\d+) steps", user):
        return "\n".join(f"Step {k}: correct" for k in range(1, int(steps[1]) + 1))
    if shown := re.search(r"There are (\d+) responses", user):
        return json.dumps({"scores": [10] * int(shown[1])})
    return "Looks right.\nScore: 10\nVerdict: Yes\n[[A]]"


@pytest.fixture(scope="module")
def fooled() -> Iterator[dict[str, Any]]:
    def reply(path: str, request: dict[str, Any]) -> bytes:
        return _completion(_fooled_verdict(request["messages"][-1]["content"]))

    with scripted_judge(reply, CALLS) as url:
        yield {"base_url": f"{url}/v1", "model": "m", "cache": False}


def _post(server: Server, path: str, reward: dict[str, Any], items: list[Any]) -> list[Any]:
    response = httpx.post(f"{server.url}/v1/{path}", json={"reward": reward, "items": items})
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.mark.parametrize("judge", ["pointwise", "verifier", "step"])
def test_master_keys_get_the_lowest_score_without_a_call(
    server: Server, fooled: dict[str, Any], judge: str
):
    params: dict[str, Any] = {"backend": fooled, "verdict": "text"}
    if judge == "step":
        params = {"backend": fooled}
    items = [
        {"prompt": "What is 17 + 25?", "response": key, "reference": "42"} for key in MASTER_KEYS
    ]
    CALLS.clear()
    results = _post(server, "score", {"type": judge, "params": params}, items)
    assert [r["score"] for r in results] == [0.0] * len(MASTER_KEYS)
    assert all(r["metadata"]["guard"] == "contentless" for r in results)
    assert CALLS == []
    # The control: a real answer is judged, and this fooled judge passes it.
    [honest] = _post(
        server, "score", {"type": judge, "params": params}, [items[0] | {"response": "42"}]
    )
    assert honest["score"] == 1.0 and len(CALLS) >= 1, honest


def test_the_floor_can_be_turned_off_and_then_the_fooled_judge_passes_them(
    server: Server, fooled: dict[str, Any]
):
    params = {"backend": fooled, "verdict": "text", "contentless_floor": False}
    items = [{"prompt": "What is 17 + 25?", "response": key} for key in MASTER_KEYS]
    results = _post(server, "score", {"type": "pointwise", "params": params}, items)
    assert [r["score"] for r in results] == [1.0] * len(MASTER_KEYS)


def test_a_master_key_loses_every_comparison(server: Server, fooled: dict[str, Any]):
    items = [
        {"prompt": "What is 17 + 25?", "responses": [":", "41"]},
        {"prompt": "What is 17 + 25?", "responses": ["41", "Thought process:"]},
        {"prompt": "What is 17 + 25?", "responses": [":", "Solution"]},
    ]
    CALLS.clear()
    pairwise = {"type": "pairwise", "params": {"backend": fooled, "verdict": "text"}}
    results = _post(server, "compare", pairwise, items)
    assert [r["score"] for r in results] == [0.0, 1.0, 0.5]
    assert [r["preference"]["ranking"] for r in results] == [[1, 0], [0, 1], [0, 1]]
    assert CALLS == []
    listwise = {"type": "listwise", "params": {"backend": fooled, "verdict": "json"}}
    [result] = _post(
        server, "compare", listwise, [{"prompt": "q", "responses": [":", "41", "42", "..."]}]
    )
    assert result["scores"] == {"0": 0.0, "1": 1.0, "2": 1.0, "3": 0.0}
    assert result["preference"]["ranking"][2:] == [0, 3]
    assert result["metadata"]["shown"] == [1, 2]
    assert CALLS  # the judge saw the two contentful responses
    assert all("41" in c["messages"][-1]["content"] for c in CALLS)
    assert not any("[BEGIN RESPONSE 3 #" in c["messages"][-1]["content"] for c in CALLS)
