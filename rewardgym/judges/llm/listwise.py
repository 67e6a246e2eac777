"""``listwise``: an LLM judge scores N responses to one prompt in one call (a GRPO group).

Position bias is controlled the way pairwise swapping does it, generalised: the responses are
shown in ``permutations`` different orders (a seeded shuffle, then its reverse, then further
shuffles), each response's scores are mapped back and averaged, and the per-response spread
across orders is reported. ``scores`` holds every response's score keyed by its index
(normalised to [0, 1] by default); ``score`` is that of ``responses[0]`` (as in pairwise);
``preference.ranking`` orders them best first, and ``preference.consistent`` says whether every
order picked the same best response.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import statistics
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import Field, model_validator

from rewardgym.errors import RewardError
from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.base import ScoreContext, gather_items
from rewardgym.judges.llm._judge import (
    JudgeParams,
    LLMJudge,
    compare_item_key,
    list_verdict_format,
)
from rewardgym.judges.llm.pairwise import DEFAULT_CRITERIA
from rewardgym.judges.llm.parsers import neutralise, parse_score_list
from rewardgym.judges.texts import conversation_of, text_of
from rewardgym.schema import Basis, CompareItem, ErrorType, Format, Preference, Result, Taxonomy

__all__ = ["ListwiseJudge", "ListwiseParams", "orders_for"]

TEMPLATE_VERSION = "listwise-v1"


class ListwiseParams(JudgeParams):
    verdict: Literal["json", "text"] = "json"
    min_score: int = Field(default=1, ge=0)
    max_score: int = Field(default=10, le=100)
    permutations: int = Field(default=2, ge=1, le=8, description="orders shown (de-biasing)")
    shuffle_seed: int = Field(default=0, description="seed of the order shuffles")
    max_responses: int = Field(default=16, ge=2, le=64)
    normalize: bool = Field(default=True, description="map scores to [0, 1]")
    criteria: str = DEFAULT_CRITERIA

    @model_validator(mode="after")
    def _range(self) -> ListwiseParams:
        if self.max_score <= self.min_score:
            raise ValueError("max_score must be above min_score")
        return self

    AT_MOST_DEFAULT = JudgeParams.AT_MOST_DEFAULT | {"permutations", "max_responses"}


def orders_for(n: int, count: int, seed: int, key: str) -> list[list[int]]:
    """``count`` orders of ``n`` responses: a shuffle seeded by (seed, key), its reverse, then
    more shuffles. The same item always gets the same orders (so caching works)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    first = list(range(n))
    rng.shuffle(first)
    orders = [first, first[::-1]][:count]
    while len(orders) < count:
        order = list(range(n))
        rng.shuffle(order)
        orders.append(order)
    return orders


class ListwiseJudge(LLMJudge):
    """Scores for N responses to one prompt, judged together in shuffled orders."""

    type_id = "listwise"
    templates = "listwise"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.PREFERENCE)
    Params = ListwiseParams
    description = "LLM judge: scores and a ranking of N responses in one call, order-debiased"

    def _permute(self, seed: int) -> ListwiseJudge:
        """This judge showing the responses in other orders (another ``shuffle_seed``); its
        scores and ranking still refer to the responses' own indices."""
        p: ListwiseParams = self.params
        return self.sibling(params=p.model_copy(update={"shuffle_seed": p.shuffle_seed + 1 + seed}))

    def request(
        self, item: CompareItem, order: Sequence[int], attempt: int = 0, sample: int = 0
    ) -> ChatRequest:
        """The chat request showing ``item.responses`` in ``order``."""
        p: ListwiseParams = self.params
        reference = self.reference(item)
        settings = {
            "criteria": p.criteria,
            "verdict": p.verdict,
            "min_score": p.min_score,
            "max_score": p.max_score,
        }
        system = self.system_message(self._system, **settings, reference=reference is not None)
        user = self.render_user(
            prompt=neutralise(conversation_of(item.prompt)),
            reference=reference,
            responses=[neutralise(text_of(item.responses[i])) for i in order],
        ).strip()
        response_format = extra = None
        if p.verdict == "json":
            one = "(" + "|".join(str(s) for s in range(p.max_score, p.min_score - 1, -1)) + ")"
            integer = {"type": "integer", "minimum": p.min_score, "maximum": p.max_score}
            response_format, extra = list_verdict_format(
                self.backend_params.structured_output, "scores", len(order), one, integer
            )
        namespace = f"{TEMPLATE_VERSION}:{p.verdict}:{p.min_score}-{p.max_score}"
        return ChatRequest(
            messages=(("system", system), ("user", user)),
            max_tokens=p.max_tokens,
            temperature=p.temperature,
            response_format=response_format,
            extra_body=extra,
            seed=self.seed(sample),
            namespace=self.cache_namespace(namespace, attempt),
        )

    async def compare(self, items: Sequence[CompareItem], ctx: ScoreContext) -> list[Result]:
        return await gather_items(items, self._compare_one, ctx)

    async def _compare_one(self, item: CompareItem) -> Result:
        p: ListwiseParams = self.params
        n = len(item.responses)
        if n > p.max_responses:
            raise RewardError(
                ErrorType.INVALID_INPUT,
                f"{n} responses; reward {self.name!r} ranks at most {p.max_responses}",
            )
        keep = [i for i, r in enumerate(item.responses) if not self.contentless(r)]
        if len(keep) == n:
            return await self._judge(item)
        # Master keys are not shown to the judge: they score the lowest and rank last.
        lowest = 0.0 if p.normalize else float(p.min_score)
        floored = self.floored(lowest)
        scores: dict[str, float | None] = {str(i): lowest for i in range(n)}
        ranking: list[int] = []
        if keep:
            shown = item.model_copy(update={"responses": [item.responses[i] for i in keep]})
            floored = await self._judge(shown)
            for j, i in enumerate(keep):
                scores[str(i)] = floored.scores[str(j)]
            assert floored.preference is not None
            ranking = [keep[j] for j in floored.preference.ranking]
        floored.metadata.update(guard="contentless", shown=keep)
        floored.scores = scores
        floored.score = scores["0"]
        consistent = floored.preference.consistent if floored.preference else None
        last = [i for i in range(n) if i not in keep]
        floored.preference = Preference(ranking=ranking + last, consistent=consistent)
        return floored

    async def _judge(self, item: CompareItem) -> Result:
        """Scores of all of ``item.responses`` from the judge, in shuffled orders."""
        p: ListwiseParams = self.params
        n = len(item.responses)
        key = json.dumps([text_of(item.prompt), [text_of(r) for r in item.responses]])
        orders = orders_for(n, p.permutations, p.shuffle_seed, key)
        runs = [(order, sample) for sample in range(p.samples) for order in orders]

        def build(order: list[int], sample: int) -> Callable[[int], ChatRequest]:
            return lambda attempt: self.request(item, order, attempt, sample)

        def reader(n_shown: int) -> Callable[[ChatResponse], list[float]]:
            return lambda r: parse_score_list(r.text, n_shown, p.min_score, p.max_score)

        item_key = compare_item_key(item)
        verdicts = await asyncio.gather(
            *(self.ask(build(o, s), reader(n), key=(item_key, tuple(o), s)) for o, s in runs)
        )
        per_response: list[list[float]] = [[] for _ in range(n)]
        bests = set()
        for (order, _), shown in zip(runs, verdicts, strict=True):
            for position, index in enumerate(order):
                per_response[index].append(shown[position])
            bests.add(order[max(range(n), key=lambda j: shown[j])])
        span = p.max_score - p.min_score
        means = [statistics.fmean(v) for v in per_response]
        scores = [(m - p.min_score) / span if p.normalize else m for m in means]
        ranking = sorted(range(n), key=lambda i: -means[i])
        return Result(
            score=scores[0],
            scores={str(i): s for i, s in enumerate(scores)},
            preference=Preference(
                ranking=ranking, consistent=len(bests) == 1 if len(runs) > 1 else None
            ),
            metadata={
                "raw_scores": means,
                "spread": [statistics.pstdev(v) for v in per_response],
                "orders": [order for order, _ in runs],
                "verdicts": verdicts,
            },
        )
