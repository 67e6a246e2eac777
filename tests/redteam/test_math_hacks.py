"""The math reward attacked by the policy it trains: hedges and padded answers, through a real
server. Each must score 0 while the honest answer scores 1."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server

HEDGES = [
    r"\boxed{3} or \boxed{2}",
    r"\boxed{2} or \boxed{3}",
    r"\boxed{2, 3}",
    r"\boxed{\{2, 3\}}",
    r"\boxed{2 \text{ or } 3}",
    r"\boxed{[1, 3]}",
    r"\boxed{2 \pm 1}",
    r"\boxed{1 < x < 3}",
    r"\boxed{x} where x is the answer",
    r"\boxed{" + "2" * 60 + "}",
    r"\boxed{" + "1234567890" * 5 + "}",
]


@pytest.mark.parametrize("answer", HEDGES)
def test_hedged_answers_score_zero(server: Server, answer: str):
    items = [
        {"prompt": "1 + 1?", "response": answer, "reference": "2"},
        {"prompt": "1 + 1?", "response": r"So \boxed{2}.", "reference": "2"},
    ]
    response = httpx.post(f"{server.url}/v1/score", json={"reward": "math", "items": items})
    assert response.status_code == 200, response.text
    assert [r["score"] for r in response.json()["results"]] == [0.0, 1.0]
