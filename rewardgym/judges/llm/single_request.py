"""LLM judges that judge an item with one request per sample (pointwise, verifier), and
answer the items whose verdict the judgment cache holds in memory at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rewardgym.errors import RewardError
from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.base import ScoreContext
from rewardgym.judges.llm._judge import _CUT, LLMJudge, item_key
from rewardgym.judges.llm.parsers import VerdictError
from rewardgym.schema import Item, Result

__all__ = ["SingleRequestJudge"]


class SingleRequestJudge(LLMJudge):
    """Subclasses give ``request(item, attempt, sample)`` and ``_read(response)``; a
    response with nothing to judge gets ``floor_score()`` without a call."""

    def request(self, item: Item, attempt: int = 0, sample: int = 0) -> ChatRequest:
        raise NotImplementedError

    def _read(self, response: ChatResponse) -> Result:
        raise NotImplementedError

    def floor_score(self) -> float:
        return 0.0

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        if self.contentless(item.response):
            return self.floored(self.floor_score())
        return await self.sampled(
            lambda sample: self.ask(
                lambda attempt: self.request(item, attempt, sample),
                self._read,
                key=(item_key(item), sample),
            )
        )

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        """Items whose verdict the cache holds in memory are answered at once, without a task
        or a wait each (the warm path); the others are judged as usual (``score_one``)."""
        peek = getattr(self.backend, "peek", None)
        answered: dict[int, Result] = {}
        if peek is not None and self.params.samples == 1:
            for index, item in enumerate(items):
                result = self._remembered(item, peek)
                if result is not None:
                    answered[index] = result
        if not answered:
            return await super().score_batch(items, ctx)
        rest = [item for index, item in enumerate(items) if index not in answered]
        judged = iter(await super().score_batch(rest, ctx) if rest else [])
        return [answered[i] if i in answered else next(judged) for i in range(len(items))]

    def _remembered(
        self, item: Item, peek: Callable[[ChatRequest], ChatResponse | None]
    ) -> Result | None:
        """The verdict ``score_one`` would get for ``item`` (its first sample and attempt),
        if the cache holds it in memory; None for anything else (``score_one`` handles it)."""
        if self.contentless(item.response):
            return None  # floored by score_one
        try:
            request = self.built(
                (item_key(item), 0), 0, lambda attempt: self.request(item, attempt, 0)
            )
        except RewardError:
            return None  # the item's error comes from score_one
        hit = peek(request)
        if hit is None or (hit.finish_reason in _CUT and not request.top_logprobs):
            return None
        try:
            return self._read(hit)
        except VerdictError:
            return None  # asked again past the cache by score_one
