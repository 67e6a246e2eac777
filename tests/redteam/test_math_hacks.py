"""The math reward attacked by the policy it trains: hedges and padded answers, through a real
server. Each must score 0 while the honest answer scores 1."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server
from tests.redteam.catalogue import MATH_HEDGES, MATH_NOT_HEDGES, MATH_TEXT_HEDGES


@pytest.mark.parametrize("answer", MATH_HEDGES)
def test_hedged_answers_score_zero(server: Server, answer: str):
    items = [
        {"prompt": "1 + 1?", "response": answer, "reference": "2"},
        {"prompt": "1 + 1?", "response": r"So \boxed{2}.", "reference": "2"},
    ]
    response = httpx.post(f"{server.url}/v1/score", json={"reward": "math", "items": items})
    assert response.status_code == 200, response.text
    assert [r["score"] for r in response.json()["results"]] == [0.0, 1.0]


def _scores(server: Server, reward: object, answers: list[str]) -> list[float | None]:
    items = [{"prompt": "1 + 1?", "response": a, "reference": "2"} for a in answers]
    response = httpx.post(f"{server.url}/v1/score", json={"reward": reward, "items": items})
    assert response.status_code == 200, response.text
    return [r["score"] for r in response.json()["results"]]


def test_plain_text_hedges_score_zero_and_honest_answers_one(server: Server):
    answers = MATH_TEXT_HEDGES + MATH_NOT_HEDGES
    want = [0.0] * len(MATH_TEXT_HEDGES) + [1.0] * len(MATH_NOT_HEDGES)
    assert _scores(server, "math", answers) == want
    # Without the hedge check, math-verify alone passes most of these hedges.
    unchecked = _scores(server, {"type": "math", "params": {"reject_hedges": False}}, answers)
    assert unchecked[len(MATH_TEXT_HEDGES) :] == [1.0] * len(MATH_NOT_HEDGES)
    assert sum(s == 1.0 for s in unchecked[: len(MATH_TEXT_HEDGES)]) >= 6, unchecked
