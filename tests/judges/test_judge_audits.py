"""Audits of LLM judges beside real traffic, within one budget per judge: permuted re-judges
and shadow checks by a rule (canaries: test_judge_canaries). Scripted chat servers stand in
for the judge models (fault injection: each is biased on purpose, or consistent): a judge
drawn to the first rubric level listed, or to the first candidate shown, disagrees with
itself; one that passes wrong math answers disagrees with the math rule. Callers never see an
audit, and the budget bounds the extra backend calls."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from rewardgym.config import Settings
from rewardgym.health import Audits
from rewardgym.health.budget import AuditBudget
from rewardgym.registry import RewardRegistry
from rewardgym.schema import (
    CompareItem,
    CompareRequest,
    Item,
    Result,
    RewardSpec,
    ScoreRequest,
    ScoreResponse,
)
from rewardgym.service import RewardService
from tests.conftest import TEST_CONFIG, scripted_judge, start_server, stop_server
from tests.judges.test_judge_faults import _completion

Reply = Callable[[str, dict[str, Any]], bytes]
LEVELS = {1: "wrong", 2: "weak", 3: "partial", 4: "good", 5: "excellent"}


def _first_level(path: str, body: dict[str, Any]) -> bytes:
    """Biased: scores whichever rubric level the system message lists first."""
    system = body["messages"][0]["content"]
    first = re.search(r"Scores:\n- (\d+):", system)
    return _completion(f"Score: {first.group(1) if first else 3}")


def _steady(path: str, body: dict[str, Any]) -> bytes:
    """Consistent: the same verdict however the rubric is listed."""
    return _completion("Solid.\nScore: 4")


def _sum_of(body: dict[str, Any]) -> tuple[int, str]:
    user = body["messages"][-1]["content"]
    a, b = map(int, re.findall(r"What is (\d+) \+ (\d+)\?", user)[0])
    return a + b, user


def _checks_the_sum(path: str, body: dict[str, Any]) -> bytes:
    """Correct: passes a response only when its boxed answer is the sum."""
    total, user = _sum_of(body)
    return _completion("Score: 5" if f"\\boxed{{{total}}}" in user else "Score: 1")


def _passes_anything(path: str, body: dict[str, Any]) -> bytes:
    """Gullible: passes every answer, right or wrong."""
    return _completion("Looks right.\nScore: 5")


def _first_shown(path: str, body: dict[str, Any]) -> bytes:
    """Listwise, biased: the first response shown scores 9, the others 2."""
    shown = body["messages"][-1]["content"].count("[BEGIN RESPONSE ")
    return _completion("Scores: " + ", ".join(["9"] + ["2"] * (shown - 1)))


def _says_paris(path: str, body: dict[str, Any]) -> bytes:
    """Listwise, content-led: the response that says Paris scores 9 wherever it is shown."""
    user = body["messages"][-1]["content"]
    shown = [part.split("]", 1)[1] for part in user.split("[BEGIN RESPONSE ")[1:]]
    return _completion("Scores: " + ", ".join("9" if "Paris" in t else "2" for t in shown))


def _pointwise(name: str, url: str, **params: Any) -> RewardSpec:
    return RewardSpec.model_validate(
        {
            "name": name,
            "type": "pointwise",
            "params": {
                "verdict": "text",
                "rubric": {"description": "How good is the answer?", "scores": LEVELS},
                "contentless_floor": False,  # canaries reach the judge: exact call counts
                "backend": {"base_url": url, "model": "m", "cache": False},
                **params,
            },
        }
    )


def _listwise(name: str, url: str) -> RewardSpec:
    return RewardSpec.model_validate(
        {
            "name": name,
            "type": "listwise",
            # One order per call: the caller's verdict is the judge's raw pick.
            "params": {
                "verdict": "text",
                "permutations": 1,
                "backend": {"base_url": url, "model": "m", "cache": False},
            },
        }
    )


async def _score_rounds(
    service: RewardService, reward: str, rounds: int, items: Callable[[int], list[Item]]
) -> list[ScoreResponse]:
    """``rounds`` calls, each after the budget (600 a minute: one per 0.1 s) has refilled."""
    responses = []
    for r in range(rounds):
        request = ScoreRequest(reward=reward, items=items(r))
        responses.append(await service.score(request))
        await asyncio.sleep(0.11)
    await service.audits.settle()
    return responses


def _whole(service: RewardService) -> dict[str, dict[str, Any]]:
    return {w["reward"]: w for w in service.reward_health() if w["source"] == "*"}


async def test_a_judge_led_by_the_first_rubric_level_disagrees_with_itself():
    sent: dict[str, list[dict[str, Any]]] = {"biased": [], "steady": []}
    with (
        scripted_judge(_first_level, sent["biased"]) as biased,
        scripted_judge(_steady, sent["steady"]) as steady,
    ):
        registry = RewardRegistry([_pointwise("biased", biased), _pointwise("steady", steady)])
        service = RewardService(registry, Settings(audit_per_minute=600))
        try:
            calls = {}
            for name in ("biased", "steady"):
                calls[name] = await _score_rounds(
                    service, name, 8, lambda r: [Item(prompt=f"q{r}", response=f"answer {r}")]
                )
            health = _whole(service)
        finally:
            await service.aclose()
    # The caller's verdicts: the rubric as configured (lowest level first), never an audit's.
    assert [resp.results[0].score for resp in calls["biased"]] == [0.0] * 8
    assert [resp.results[0].score for resp in calls["steady"]] == [0.75] * 8
    # Canaries and re-judges take turns: four of each in eight calls.
    assert health["biased"]["rejudged"] == 4 and health["biased"]["rejudge_agreement"] == 0.0
    assert health["steady"]["rejudged"] == 4 and health["steady"]["rejudge_agreement"] == 1.0
    assert health["steady"]["canaries"] == 4
    assert len(sent["steady"]) == 8 + 4 + 4  # the calls' items, then one audit per call
    orders = {
        tuple(re.findall(r"^- (\d+):", body["messages"][0]["content"], re.M))
        for body in sent["biased"]
    }
    assert ("1", "2", "3", "4", "5") in orders and len(orders) >= 3  # re-judged in 2+ orders


async def test_a_listwise_judge_that_picks_the_first_candidate_disagrees_with_itself():
    sent: list[dict[str, Any]] = []
    with scripted_judge(_first_shown, sent) as biased, scripted_judge(_says_paris, []) as fair:
        registry = RewardRegistry([_listwise("first", biased), _listwise("paris", fair)])
        service = RewardService(registry, Settings(audit_per_minute=600))
        answers = ["It is Lyon.", "It is Paris.", "It is Nice.", "It is Lille."]
        tops: dict[str, list[int]] = {"first": [], "paris": []}
        try:
            for name in tops:
                for r in range(8):
                    item = CompareItem(prompt=f"Capital of France? ({r})", responses=answers)
                    response = await service.compare(CompareRequest(reward=name, items=[item]))
                    [result] = response.results
                    assert result.preference is not None
                    tops[name].append(result.preference.ranking[0])
                    await asyncio.sleep(0.11)
            await service.audits.settle()
            health = _whole(service)
        finally:
            await service.aclose()
    assert tops["paris"] == [1] * 8  # the caller's verdicts
    assert health["paris"]["rejudged"] == 8 and health["paris"]["rejudge_agreement"] == 1.0
    assert health["first"]["rejudged"] == 8 and health["first"]["rejudge_agreement"] <= 0.5
    assert len(sent) == 16  # each call's one order, and its re-judge
    assert "canaries" not in health["first"]  # a canary needs a response to judge


def _sums(wrong: bool) -> Callable[[int], list[Item]]:
    def items(r: int) -> list[Item]:
        a, b = r + 2, 3
        return [
            Item(
                prompt=f"What is {a} + {b}?",
                response=f"The answer is \\boxed{{{a + b + (1 if wrong or k else 0)}}}.",
                reference=str(a + b),
            )
            for k in range(2)
        ]

    return items


async def test_a_judge_that_passes_wrong_math_disagrees_with_its_math_shadow():
    with (
        scripted_judge(_passes_anything, []) as gullible,
        scripted_judge(_checks_the_sum, []) as careful,
    ):
        specs = [
            _pointwise("gullible", gullible, rubric="additive5", shadow="math"),
            _pointwise("careful", careful, rubric="additive5", shadow="math"),
        ]
        service = RewardService(RewardRegistry(specs), Settings(audit_per_minute=600))
        try:
            await _score_rounds(service, "gullible", 8, _sums(wrong=True))
            calls = await _score_rounds(service, "careful", 8, _sums(wrong=False))
            health = _whole(service)
        finally:
            await service.aclose()
    # A built-in rubric has nothing to permute: canaries and shadow checks take turns.
    assert "rejudged" not in health["gullible"]
    assert health["gullible"]["shadowed"] == 4 and health["gullible"]["shadow_disagreement"] == 1
    assert health["careful"]["shadowed"] == 4 and health["careful"]["shadow_disagreement"] == 0
    assert health["careful"]["canaries"] == 4
    # The caller's verdicts: the first answer of each call right, the second wrong.
    assert {tuple(r.score for r in resp.results) for resp in calls} == {(1.0, 0.2)}
    assert all("shadow" not in r.metadata for resp in calls for r in resp.results)


def test_a_shadow_must_be_a_rule():
    specs = [
        _pointwise("judge", "http://127.0.0.1:9/v1", shadow="other"),
        _pointwise("other", "http://127.0.0.1:9/v1"),
    ]
    with pytest.raises(Exception, match="not a rule reward"):
        RewardRegistry(specs)
    with pytest.raises(Exception, match="neither a reward of the config nor a reward type"):
        RewardRegistry([_pointwise("judge", "http://127.0.0.1:9/v1", shadow="no_such")])


async def test_the_default_budget_bounds_the_extra_backend_calls():
    sent: list[dict[str, Any]] = []
    with scripted_judge(_steady, sent) as url:
        service = RewardService(RewardRegistry([_pointwise("j", url)]), Settings())
        started = time.monotonic()
        try:
            for r in range(20):
                items = [Item(prompt=f"q{r}", response=f"a{k}") for k in range(2)]
                response = await service.score(ScoreRequest(reward="j", items=items))
                assert [x.score for x in response.results] == [0.75, 0.75]
            await service.audits.settle()
            elapsed = time.monotonic() - started
        finally:
            await service.aclose()
    per_minute = Settings().audit_per_minute
    extra = len(sent) - 40
    assert 1 <= extra <= 1 + elapsed * per_minute / 60  # on by default, within the budget


async def test_rules_are_never_audited_and_a_zero_budget_audits_nothing():
    with scripted_judge(_steady, sent := []) as url:
        registry = RewardRegistry(
            [RewardSpec(name="math", type="math"), _pointwise("j", url, shadow="math")]
        )
        service = RewardService(registry, Settings(audit_per_minute=600))
        off = RewardService(registry, Settings(audit_per_minute=0))
        try:
            item = Item(prompt="What is 2 + 3?", response="\\boxed{5}", reference="5")
            await service.score(ScoreRequest(reward="math", items=[item]))
            await off.score(ScoreRequest(reward="j", items=[item]))
            await service.audits.settle()
            await off.audits.settle()
            assert service.audits.report() == {} and off.audits.report() == {}
            assert len(sent) == 1  # the judge's one real call
        finally:
            await service.aclose()
            await off.aclose()


async def test_an_audit_that_fails_is_not_counted_and_never_reaches_the_caller(
    caplog: pytest.LogCaptureFixture,
):
    async def broken(item: Item) -> Result:
        raise RuntimeError("the judge backend is gone")

    audits = Audits(per_minute=600)
    items = [Item(prompt="q", response="a", reference="a")]
    with caplog.at_level(logging.WARNING, logger="rewardgym.health.audits"):
        audits.after_score("j", items, [Result(score=1.0)], judge=broken, shadow=broken)
        await audits.settle()
    assert audits.report() == {}
    [record] = caplog.records
    assert "canary audit of judge j failed: the judge backend is gone" in record.getMessage()
    assert record.exc_info is None  # one line, no traceback


def test_the_budget_allows_one_now_and_per_minute_after():
    now = [0.0]
    budget = AuditBudget(6, clock=lambda: now[0])
    taken = []
    for _ in range(121):  # one minute, every half second
        taken.append(budget.take("j"))
        now[0] += 0.5
    assert sum(taken) == 1 + 6 and taken[0]
    assert budget.take("other")  # each judge its own
    assert not AuditBudget(0).take("j")


@pytest.fixture(scope="module")
def audited_server() -> Iterator[str]:
    server = start_server(
        {"REWARDGYM_AUDIT_PER_MINUTE": "600", "REWARDGYM_INLINE_SPECS": "any"}, TEST_CONFIG
    )
    yield server.url
    stop_server(server)


@pytest.mark.slow
def test_a_served_judge_shows_its_audits_in_health_and_metrics(audited_server: str):
    """Over HTTP: an inline judge drawn to the first rubric level and shadowed by the
    config's ``math`` shows a re-judge agreement of 0 and a shadow disagreement of 1."""
    with scripted_judge(_first_level, sent := []) as judge, httpx.Client(timeout=60) as http:
        spec = _pointwise("x", judge, shadow="math").model_dump(exclude={"name"})
        for r in range(9):
            items = [
                {"prompt": f"What is {r} + 1?", "response": "\\boxed{0}", "reference": str(r + 1)}
            ]
            body = {"reward": spec, "items": items}
            reply = http.post(f"{audited_server}/v1/score", json=body).json()
            [result] = reply["results"]
            assert result["score"] == 0.0  # the level listed first: the caller's rubric order
            time.sleep(0.11)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            windows = http.get(f"{audited_server}/v1/health/rewards").json()["rewards"]
            [mine] = [w for w in windows if w["reward"] == "inline:pointwise"]
            if mine.get("rejudged", 0) >= 3 and mine.get("shadowed", 0) >= 3:
                break
            time.sleep(0.2)
        metrics = http.get(f"{audited_server}/metrics").text
    assert mine["rejudge_agreement"] == 0.0 and mine["rejudged"] == 3
    # The judge fails every (wrong) answer, as math does: they agree.
    assert mine["shadow_disagreement"] == 0.0 and mine["shadowed"] == 3
    assert mine["canaries"] == 3
    assert 'rewardgym_judge_rejudge_agreement{reward="inline:pointwise"} 0.0' in metrics
    assert 'rewardgym_judge_shadow_disagreement{reward="inline:pointwise"} 0.0' in metrics
    assert len(sent) == 9 + 3 + 3  # real items, canaries, re-judges (math asks no judge)
