"""``StreamScorer`` in process on a real service: it stops reading when too many items are
unanswered (the back-pressure a transport's flow control passes on to the sender), and a
stream costs its key a request per ``max_items`` items (``paced``)."""

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

    async def endless() -> AsyncIterator[StreamItem]:
        nonlocal pulled
        while True:
            pulled += 1
            yield _item(pulled)

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

    async def items() -> AsyncIterator[StreamItem]:
        nonlocal seen
        for i in range(1, 13):
            seen = i
            yield _item(i)

    def take() -> float:
        taken.append(seen)
        return next(waits)

    got = [s.id async for s in paced(items(), take, every=4)]
    assert got == [str(i) for i in range(1, 13)]
    # Items 1-4 ride on the stream's own request; items 5 (twice: it waited once) and 9 pay.
    assert taken == [5, 5, 9]
