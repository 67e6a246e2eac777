"""A judge's live health: a judge with pure position bias shows a flip rate of 1, a
content-led one 0 (scripted chat servers stand in for the judge models: fault injection,
biased on purpose); its parse failures show in its failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rewardgym.config import Settings
from rewardgym.registry import RewardRegistry
from rewardgym.schema import CompareItem, CompareRequest, Item, RewardSpec, ScoreRequest
from rewardgym.service import RewardService
from tests.conftest import local_http_server
from tests.judges.test_judge_faults import _Faulty, judge_spec, pairwise_spec

PAIRS = [
    CompareItem(prompt=f"Capital of France? ({i})", responses=["It is Lyon.", "It is Paris."])
    for i in range(6)
]


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    with local_http_server(_Faulty) as url:
        yield url


def _service(url: str) -> RewardService:
    specs = [
        RewardSpec.model_validate({"name": "biased", **pairwise_spec(url, "alwaysA")}),
        RewardSpec.model_validate({"name": "fair", **pairwise_spec(url, "paris")}),
        RewardSpec.model_validate({"name": "chatty", **judge_spec(url, "chatty")}),
    ]
    return RewardService(RewardRegistry(specs), Settings())


async def test_flip_rate_and_parse_failures_show_live(scripted: str):
    service = _service(scripted)
    try:
        for name in ("biased", "fair"):
            await service.compare(CompareRequest(reward=name, items=PAIRS))
        items = [Item(prompt="q", response=f"answer {i}") for i in range(3)]
        await service.score(ScoreRequest(reward="chatty", items=items))
        assert service.health.flip_rate("biased") == 1.0
        assert service.health.flip_rate("fair") == 0.0
        windows: dict[str, Any] = {w["reward"]: w for w in service.health.summaries()}
        assert windows["biased"]["compared"] == 6 and windows["biased"]["flip_rate"] == 1.0
        assert windows["chatty"]["failures"] == {"judge_parse_error": 1.0}
        gauges = {(name, labels["reward"]): v for name, labels, v in service.health.gauges()}
        assert gauges["rewardgym_judge_flip_rate", "biased"] == 1.0
        assert gauges["rewardgym_reward_failed_share", "chatty"] == 1.0
    finally:
        await service.aclose()
