"""``pairwise``: an LLM judge says which of two responses is better, in both orders.

Judges favour whichever answer comes first; asking in both orders (the default) and mapping
the second verdict back cancels that bias and measures it: ``preference.consistent`` says
whether the two orders agreed, and a verdict that flips with the order counts as a tie.
With ``verdict: logprobs`` the probabilities come from the judge's distribution over the
labels A, B (and C = tie), averaged over both orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.base import ScoreContext, gather_items
from rewardgym.judges.llm._judge import JudgeParams, LLMJudge, compare_item_key
from rewardgym.judges.llm.parsers import VerdictError, choice_probabilities, neutralise, parse_label
from rewardgym.judges.texts import conversation_of, text_of
from rewardgym.schema import (
    Basis,
    CompareItem,
    ErrorType,
    Format,
    Preference,
    Result,
    Taxonomy,
)

__all__ = ["PairwiseJudge", "PairwiseParams"]

TEMPLATE_VERSION = "pairwise-v1"
DEFAULT_CRITERIA = (
    "Judge which response follows the user's instructions and answers the question better: "
    "consider helpfulness, correctness, relevance, depth and clarity."
)


class PairwiseParams(JudgeParams):
    verdict: Literal["text", "logprobs"] = "text"
    swap: bool = Field(default=True, description="judge both orders (position-bias control)")
    allow_tie: bool = True
    criteria: str = DEFAULT_CRITERIA


class PairwiseJudge(LLMJudge):
    """Preference between two responses; ``score`` = p(first response better) (+ half a tie)."""

    type_id = "pairwise"
    templates = "pairwise"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.PREFERENCE)
    Params = PairwiseParams
    description = "LLM judge: which of two responses is better, both orders, ties allowed"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: PairwiseParams = self.params
        self.labels: tuple[str, ...] = ("A", "B", "C") if p.allow_tie else ("A", "B")

    def request(
        self, item: CompareItem, order: tuple[int, int], attempt: int, sample: int = 0
    ) -> ChatRequest:
        """The chat request that shows ``item.responses[order[0]]`` as A."""
        p: PairwiseParams = self.params
        reference = self.reference(item)
        settings = {
            "criteria": p.criteria,
            "allow_tie": p.allow_tie,
            "verdict": "label_only" if p.verdict == "logprobs" else "text",
        }
        system = self.system_message(self._system, **settings, reference=reference is not None)
        user = self.render_user(
            **settings,
            reference=reference,
            prompt=neutralise(conversation_of(item.prompt)),
            response_a=neutralise(text_of(item.responses[order[0]])),
            response_b=neutralise(text_of(item.responses[order[1]])),
        ).strip()
        top = choices = None
        max_tokens = p.max_tokens
        if p.verdict == "logprobs":
            top, max_tokens, choices = p.top_logprobs, 2, self.labels
        namespace = f"{TEMPLATE_VERSION}:{p.verdict}:{','.join(self.labels)}"
        return ChatRequest(
            messages=(("system", system), ("user", user)),
            max_tokens=max_tokens,
            temperature=p.temperature,
            top_logprobs=top,
            choices=choices,
            seed=self.seed(sample),
            namespace=self.cache_namespace(namespace, attempt),
        )

    def _read(self, response: ChatResponse) -> dict[str, float]:
        """The verdict as probabilities over the labels (one-hot for a text verdict)."""
        if self.params.verdict == "logprobs":
            if not response.logprobs:  # as pointwise and verifier: never a silent fallback
                raise VerdictError("log-probabilities were asked for and the backend sent none")
            return choice_probabilities(response.logprobs[0], self.labels)
        label = parse_label(response.text, self.labels)
        return {x: float(x == label) for x in self.labels}

    async def compare(self, items: Sequence[CompareItem], ctx: ScoreContext) -> list[Result]:
        return await gather_items(items, self._compare_one, ctx)

    async def _compare_one(self, item: CompareItem) -> Result:
        if len(item.responses) != 2:
            raise RewardError(
                ErrorType.INVALID_INPUT,
                f"pairwise compares exactly 2 responses; this item has {len(item.responses)}",
            )
        empty = [self.contentless(r) for r in item.responses]
        if any(empty):  # a master key loses to anything; two of them tie
            better = [0.5, 0.5] if all(empty) else [float(not e) for e in empty]
            winner: int | str = "tie" if all(empty) else empty.index(False)
            floored = self.floored(better[0])
            floored.preference = Preference(ranking=[0, 1] if better[0] >= 0.5 else [1, 0])
            floored.preference.probabilities = better
            floored.metadata.update(winner=winner, contentless=empty)
            return floored
        swaps = [(0, 1), (1, 0)] if self.params.swap else [(0, 1)]
        runs = [(order, sample) for sample in range(self.params.samples) for order in swaps]
        orders = [order for order, _ in runs]

        def build(order: tuple[int, int], sample: int) -> Callable[[int], ChatRequest]:
            return lambda attempt: self.request(item, order, attempt, sample)

        key = compare_item_key(item)
        verdicts = await asyncio.gather(
            *(self.ask(build(o, s), self._read, key=(key, o, s)) for o, s in runs)
        )
        better = [0.0, 0.0]
        tie = 0.0
        winners = []
        for (first, second), probs in zip(orders, verdicts, strict=True):
            better[first] += probs["A"] / len(orders)
            better[second] += probs["B"] / len(orders)
            tie += probs.get("C", 0.0) / len(orders)
            top = max(probs, key=lambda k: probs[k])
            winners.append({"A": first, "B": second}.get(top, "tie"))
        agree = len(set(winners)) == 1  # across orders and samples
        consistent = agree if len(swaps) > 1 else None
        winner = winners[0] if agree else "tie"
        ranking = sorted((0, 1), key=lambda i: -better[i])
        if winner in (0, 1):
            ranking = [int(winner), 1 - int(winner)]
        return Result(
            score=better[0] + tie / 2,
            preference=Preference(ranking=ranking, probabilities=better, consistent=consistent),
            metadata={
                "winner": winner,
                "tie_probability": tie,
                "verdicts": [dict(v) for v in verdicts],
                "orders": orders,
            },
        )
