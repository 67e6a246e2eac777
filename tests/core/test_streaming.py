"""``StreamScorer`` in process on a real service: it stops reading when too many items (or
bytes) are unanswered (the back-pressure a transport's flow control passes on to the
sender), cancels what it was scoring when its reader leaves, answers an item failing under
``on_error: raise`` alone, and a stream costs its key a request per ``max_items`` items
(``paced``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rewardgym.config import Settings
from rewardgym.schema import StreamItem
from rewardgym.service import RewardService
from rewardgym.streaming import StreamScorer, paced
from tests.conftest import TEST_CONFIG


def _item(i: int) -> StreamItem:
    return StreamItem.model_validate(
        {"id": str(i), "reward": "exact_match", "item": {"response": "a", "reference": "a"}}
    )


@pytest.mark.asyncio
async def test_the_scorer_stops_reading_while_results_wait():
    pulled = 0

    async def endless() -> AsyncIterator[tuple[StreamItem, int]]:
        nonlocal pulled
        while True:
            pulled += 1
            yield _item(pulled), 100

    async with RewardService.running(Settings(config=TEST_CONFIG)) as service:
        scorer = StreamScorer(service, max_in_flight=16, linger_s=0.001)
        results = scorer.run(endless())
        first = await anext(results)
        assert first.result is not None and first.result.score == 1.0
        await asyncio.sleep(0.5)  # no one reads the results meanwhile
        held = pulled
        assert 16 <= held <= 18, held  # the window, and the item the reader holds
        for _ in range(20):
            await anext(results)
        await asyncio.sleep(0.2)
        assert held + 20 <= pulled <= held + 22  # each result read lets one more in
        await results.aclose()


@pytest.mark.asyncio
async def test_a_stream_is_charged_a_request_per_max_items():
    taken: list[int] = []
    seen = 0
    waits = iter([0.01, 0.0, 0.0])  # the first charge must wait once

    async def items() -> AsyncIterator[tuple[StreamItem, int]]:
        nonlocal seen
        for i in range(1, 13):
            seen = i
            yield _item(i), 100

    def take() -> float:
        taken.append(seen)
        return next(waits)

    got = [sent.id async for sent, _ in paced(items(), take, every=4)]  # type: ignore[union-attr]
    assert got == [str(i) for i in range(1, 13)]
    # Items 1-4 ride on the stream's own request; items 5 (twice: it waited once) and 9 pay.
    assert taken == [5, 5, 9]


@pytest.mark.asyncio
async def test_the_scorer_holds_at_most_its_bytes_in_flight():
    pulled = 0

    async def large() -> AsyncIterator[tuple[StreamItem, int]]:
        nonlocal pulled
        while True:
            pulled += 1
            yield _item(pulled), 300

    async with RewardService.running(Settings(config=TEST_CONFIG)) as service:
        scorer = StreamScorer(service, max_bytes=1000, linger_s=0.001)
        results = scorer.run(large())
        await anext(results)
        await asyncio.sleep(0.3)
        assert pulled <= 5, pulled  # 3 fit in 1,000 bytes; plus the one the reader holds
        await results.aclose()


def _math(i: int, reference: str | None = "2", **options: object) -> StreamItem:
    item = {"response": "\\boxed{2}"} | ({"reference": reference} if reference else {})
    return StreamItem.model_validate(
        {"id": str(i), "reward": "math", "item": item, "options": options}
    )


@pytest.mark.asyncio
async def test_leaving_the_results_cancels_the_items_still_being_scored():
    async def many() -> AsyncIterator[tuple[StreamItem, int]]:
        for i in range(400):
            yield _math(i), 100

    async with RewardService.running(Settings(config=TEST_CONFIG)) as service:
        scored = 0
        score = service.score

        async def counted(*args: object, **kwargs: object) -> object:
            nonlocal scored
            response = await score(*args, **kwargs)  # type: ignore[arg-type]
            scored += len(response.results)
            return response

        service.score = counted  # type: ignore[method-assign]
        results = StreamScorer(service, max_batch=8, linger_s=0.001).run(many())
        await anext(results)
        await results.aclose()
        await asyncio.sleep(0.5)
        assert service.pending_items == 0 and service.in_flight == 0
        assert scored < 400, "the items were scored for no one"


@pytest.mark.asyncio
async def test_an_item_failing_under_raise_fails_alone():
    async def sent() -> AsyncIterator[tuple[StreamItem, int]]:
        for i in range(6):
            yield _math(i, None if i == 2 else "2", on_error="raise"), 100

    settings = Settings(config=TEST_CONFIG, max_items=4)
    async with RewardService.running(settings) as service:
        scorer = StreamScorer(service)
        assert scorer.max_batch == 4  # never above what one request may carry
        got = {r.id: r async for r in scorer.run(sent())}
    assert got["2"].error is not None and got["2"].error["code"] == "item_failed"
    assert "'2' failed" in got["2"].error["message"]
    assert all(got[str(i)].result.score == 1.0 for i in (0, 1, 3, 4, 5))  # type: ignore[union-attr]
