"""The math reward attacked by the policy it trains: hedges and padded answers, through a real
server. Each must score 0 while the honest answer scores 1."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server
from tests.redteam.catalogue import MATH_HEDGES


@pytest.mark.parametrize("answer", MATH_HEDGES)
def test_hedged_answers_score_zero(server: Server, answer: str):
    items = [
        {"prompt": "1 + 1?", "response": answer, "reference": "2"},
        {"prompt": "1 + 1?", "response": r"So \boxed{2}.", "reference": "2"},
    ]
    response = httpx.post(f"{server.url}/v1/score", json={"reward": "math", "items": items})
    assert response.status_code == 200, response.text
    assert [r["score"] for r in response.json()["results"]] == [0.0, 1.0]
