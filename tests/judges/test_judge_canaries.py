"""Canaries: known-bad replies judged beside real traffic. A judge that passes anything shows
a canary pass rate of 1, a strict one 0; callers never see a canary, and the budget holds
(scripted chat servers stand in for the judge models: fault injection, gullible on purpose)."""

from __future__ import annotations

import asyncio
from typing import Any

from rewardgym.config import Settings
from rewardgym.health.canaries import CANARY_REPLIES
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec, ScoreRequest
from rewardgym.service import RewardService
from tests.conftest import scripted_judge
from tests.judges.test_judge_faults import _completion


def _judge(name: str, url: str) -> RewardSpec:
    return RewardSpec.model_validate(
        {
            "name": name,
            "type": "pointwise",
            "params": {
                "verdict": "text",
                "contentless_floor": False,  # the judge's own verdicts, not the guard's
                "backend": {"base_url": url, "model": "m", "cache": False},
            },
        }
    )


async def test_a_gullible_judge_passes_its_canaries_and_a_strict_one_does_not():
    sent: dict[str, list[dict[str, Any]]] = {"gullible": [], "strict": []}
    with (
        scripted_judge(lambda p, b: _completion("Great.\nScore: 10"), sent["gullible"]) as yes,
        scripted_judge(lambda p, b: _completion("Empty.\nScore: 1"), sent["strict"]) as no,
    ):
        registry = RewardRegistry([_judge("gullible", yes), _judge("strict", no)])
        # Pointwise judges with built-in rubrics and no shadow: every audit is a canary.
        service = RewardService(registry, Settings(audit_per_minute=600))
        try:
            for round_ in range(4):
                for name in ("gullible", "strict"):
                    items = [Item(prompt=f"q{round_}", response="a real answer")] * 2
                    response = await service.score(ScoreRequest(reward=name, items=items))
                    assert len(response.results) == 2  # the caller's results only
                await asyncio.sleep(0.15)  # the budget (10 a second) refills
            await service.audits.settle()
            found = service.audits.report()
            health = {w["reward"]: w for w in service.reward_health() if w["source"] == "*"}
        finally:
            await service.aclose()
    assert found["gullible"]["canary_pass_rate"] == 1.0
    assert found["strict"]["canary_pass_rate"] == 0.0
    judged = found["gullible"]["canaries"]
    assert 2 <= judged <= 4  # at most one a call, within the per-minute budget
    assert len(sent["gullible"]) == 8 + judged  # eight real items, and the canaries
    asked = "".join(m["messages"][-1]["content"] for m in sent["gullible"])
    assert any(c in asked for c in CANARY_REPLIES[2:])  # the judges take turns in the list
    assert health["gullible"]["canary_pass_rate"] == 1.0
    assert health["gullible"]["canaries"] == judged


async def test_no_canaries_when_the_audit_budget_is_zero():
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda p, b: _completion("Score: 5"), sent) as url:
        service = RewardService(RewardRegistry([_judge("j", url)]), Settings(audit_per_minute=0))
        try:
            await service.score(ScoreRequest(reward="j", items=[Item(prompt="q", response="a")]))
            await service.audits.settle()
            assert len(sent) == 1 and service.audits.report() == {}
        finally:
            await service.aclose()
