"""The judgment cache's warm path: an item judged again is answered from the cache without
rendering its request again, and what the kept request is keyed on is exactly what the
request is built from (a scripted chat server stands in for the judge model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rewardgym.judges.base import ScoreContext
from rewardgym.judges.llm import kept_requests
from rewardgym.registry import RewardRegistry
from rewardgym.schema import CompareItem, Item, RewardSpec
from tests.conftest import scripted_judge
from tests.judges.test_judge_faults import _completion


def _judge_of(url: str, tmp: Path, **params: Any) -> Any:
    spec = {
        "type": params.pop("type", "pointwise"),
        "params": {
            "verdict": "text",
            "backend": {"base_url": url, "model": "m", "cache": str(tmp / "c.sqlite")},
            **params,
        },
    }
    return RewardRegistry([]).resolve(RewardSpec.model_validate(spec))


async def test_a_repeat_is_neither_sent_nor_rendered_again(tmp_path: Path):
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("Fine.\nScore: 7"), sent) as url:
        judge = _judge_of(url, tmp_path)
        renders = 0
        render = judge.render_user

        def counting(**values: Any) -> str:
            nonlocal renders
            renders += 1
            return render(**values)

        judge.render_user = counting
        items = [Item(prompt="q", response=f"answer {i}") for i in range(3)]
        first = await judge.score(items, ScoreContext())
        again = await judge.score(items, ScoreContext())
        await judge.aclose()
    assert len(sent) == 3 and renders == 3  # the second pass: no call, no rendering
    assert [r.cached for r in first] == [False] * 3 and [r.cached for r in again] == [True] * 3
    assert [r.score for r in again] == [r.score for r in first]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"reference": "1"}, {"reference": "2"}),
        ({"reference": ["1"]}, {"reference": '["1"]'}),  # a list and its JSON text
        ({"reference": "1", "response": "x"}, {"reference": "1", "response": "y"}),
        ({"reference": "1", "prompt": "q"}, {"reference": "1", "prompt": "q2"}),
    ],
)
async def test_items_that_differ_in_what_the_judge_reads_get_their_own_requests(
    tmp_path: Path, a: dict[str, Any], b: dict[str, Any]
):
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("Score: 7"), sent) as url:
        judge = _judge_of(url, tmp_path, use_reference=True)
        for item in (a, b, a, b):
            await judge.score([Item.model_validate({"response": "x", **item})], ScoreContext())
        await judge.aclose()
    assert len(sent) == 2, [m["messages"][-1]["content"][-120:] for m in sent]


async def test_metadata_is_not_part_of_the_request(tmp_path: Path):
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("Score: 7"), sent) as url:
        judge = _judge_of(url, tmp_path)
        for tag in ("a", "b"):
            item = Item(prompt="q", response="x", metadata={"run": tag})
            await judge.score([item], ScoreContext())
        await judge.aclose()
    assert len(sent) == 1


async def test_pairwise_keeps_each_order_apart(tmp_path: Path):
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("[[A]]"), sent) as url:
        judge = _judge_of(url, tmp_path, type="pairwise")
        item = CompareItem(prompt="q", responses=["one", "two"])
        first = await judge.compare([item], ScoreContext())
        again = await judge.compare([item], ScoreContext())
        await judge.aclose()
    assert len(sent) == 2  # both orders asked once; the repeat is all cache
    assert first[0].preference == again[0].preference
    assert first[0].preference is not None and first[0].preference.consistent is False


async def test_kept_requests_are_bounded_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kept_requests, "KEPT_BYTES", 20_000)
    monkeypatch.setattr(kept_requests, "LARGEST_KEPT", 5_000)
    store = kept_requests.kept_requests
    store.clear()
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("Score: 7"), sent) as url:
        judge = _judge_of(url, tmp_path)
        items = [Item(prompt="q", response=f"r{i} " + "x" * 1000) for i in range(30)]
        huge = Item(prompt="q", response="y" * 10_000)  # over LARGEST_KEPT: never kept
        results = await judge.score([*items, huge], ScoreContext())
        await judge.aclose()
    assert all(r.error is None for r in results)
    assert 0 < store.bytes <= 20_000 and len(store) < 30
    assert not any(len(request.messages[-1][1]) > 10_000 for request, _ in store._requests.values())
    store.clear()


async def test_two_servers_with_one_model_name_never_answer_for_each_other(tmp_path: Path):
    """The cache key holds who answers (the backend's URLs), not only the model's name: a
    judge on server B does not get server A's verdicts from a shared cache."""
    sent_a: list[dict[str, Any]] = []
    sent_b: list[dict[str, Any]] = []
    with (
        scripted_judge(lambda path, body: _completion("Score: 10"), sent_a) as url_a,
        scripted_judge(lambda path, body: _completion("Score: 1"), sent_b) as url_b,
    ):
        item = [Item(prompt="q", response="a")]
        on_a, on_b = _judge_of(url_a, tmp_path), _judge_of(url_b, tmp_path)
        [from_a] = await on_a.score(item, ScoreContext())
        [from_b] = await on_b.score(item, ScoreContext())
        await on_a.aclose()
        await on_b.aclose()
    assert len(sent_a) == 1 and len(sent_b) == 1
    assert from_a.metadata["raw_score"] == 10 and from_b.metadata["raw_score"] == 1


async def test_a_repeat_in_memory_is_answered_without_judging(tmp_path: Path):
    """The warm path answers a batch's remembered items at once (no task, no wait each); the
    items it does not remember are judged as usual, and the order holds."""
    sent: list[dict[str, Any]] = []
    with scripted_judge(lambda path, body: _completion("Score: 7"), sent) as url:
        judge = _judge_of(url, tmp_path)
        seen = [Item(prompt="q", response=f"seen {i}") for i in range(3)]
        await judge.score(seen, ScoreContext())
        judged: list[str] = []
        score_one = judge.score_one

        async def counting(item: Item, ctx: ScoreContext) -> Any:
            judged.append(str(item.response))
            return await score_one(item, ctx)

        judge.score_one = counting
        new = Item(prompt="q", response="new")
        mixed = await judge.score(
            [seen[0], new, seen[2], Item(prompt="q", response="")], ScoreContext()
        )
        await judge.aclose()
    assert judged == ["new", ""]  # the blank one is floored by score_one, as always
    assert [r.cached for r in mixed] == [True, False, True, False]
    assert mixed[3].metadata.get("guard") == "contentless" and mixed[3].score == 0.0
    assert len(sent) == 4
