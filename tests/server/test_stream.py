"""``POST /v1/score/stream`` on a real server: NDJSON lines in, a result line per item out,
matched by id; a bad line or an unknown reward is an error on its own line."""

from __future__ import annotations

import pytest

from rewardgym.client import AsyncRewardClient
from tests.conftest import Server


@pytest.mark.asyncio
async def test_stream_answers_every_line_by_id(server: Server):
    sent = [
        {
            "id": f"s{i}",
            "reward": "math" if i % 2 else "exact_match",
            "item": {"response": f"\\boxed{{{i}}}" if i % 2 else "Paris", "reference": str(i)},
        }
        for i in range(40)
    ]
    sent.append({"id": "unknown", "reward": "no_such_reward", "item": {"response": "x"}})
    sent.append({"id": "malformed", "reward": "math"})  # no item

    async def arriving():
        for line in sent:
            yield line

    async with AsyncRewardClient(server.url) as client:
        got = {r.id: r async for r in client.score_stream(arriving())}
    assert set(got) == {s["id"] for s in sent}
    for i in range(40):
        result = got[f"s{i}"].result
        assert result is not None
        assert result.score == (1.0 if i % 2 else 0.0), (i, result)
        assert result.reward == ("math" if i % 2 else "exact_match")
        assert result.taxonomy is not None
    assert got["unknown"].error is not None and got["unknown"].error["code"] == "unknown_reward"
    assert got["malformed"].error is not None
    assert got["malformed"].error["code"] == "invalid_request"
