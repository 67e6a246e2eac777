"""``step``: an LLM judge labels each reasoning step correct or not (ProcessBench style).

Steps come from ``item.steps`` or are split from the response (``split``). The judge sees every
step in its own delimited block and labels each one; ``steps`` in the result holds the labels
(score 1 or 0 per step), ``metadata.first_error_step`` the index of the first incorrect step
(-1 when none), and ``score`` the outcome: ``all_correct`` (1 only if no step is wrong),
``mean`` (share of correct steps) or ``prefix`` (share of steps before the first error).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.base import ScoreContext
from rewardgym.judges.llm._judge import (
    JudgeParams,
    LLMJudge,
    item_key,
    list_verdict_format,
)
from rewardgym.judges.llm.parsers import neutralise, parse_step_labels
from rewardgym.judges.steps import SplitRule, split_steps
from rewardgym.judges.texts import conversation_of
from rewardgym.schema import Basis, Format, Granularity, Item, Result, StepScore, Taxonomy

__all__ = ["StepJudge", "StepParams", "aggregate_steps"]

TEMPLATE_VERSION = "step-v1"
LABELS = ("correct", "incorrect")


class StepParams(JudgeParams):
    verdict: Literal["json", "text"] = "json"
    split: SplitRule = "auto"
    step_pattern: str | None = Field(default=None, description="split: regex")
    max_steps: int = Field(default=32, ge=1, le=256)
    aggregate: Literal["all_correct", "mean", "prefix"] = "all_correct"


def aggregate_steps(correct: list[bool], how: str) -> float:
    """The outcome score of a labelled solution."""
    first = correct.index(False) if False in correct else len(correct)
    if how == "mean":
        return sum(correct) / len(correct)
    if how == "prefix":
        return first / len(correct)
    return float(first == len(correct))


class StepJudge(LLMJudge):
    """Per-step correctness labels from an LLM judge, and the first wrong step."""

    type_id = "step"
    templates = "step"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.VECTOR, granularity=Granularity.STEP)
    Params = StepParams
    description = "LLM judge: labels each reasoning step correct or not; first wrong step"

    def request(
        self, item: Item, steps: list[str], attempt: int = 0, sample: int = 0
    ) -> ChatRequest:
        p: StepParams = self.params
        reference = self.reference(item)
        system = self.system_message(
            self._system, verdict=p.verdict, reference=reference is not None
        )
        user = self.render_user(
            prompt=neutralise(conversation_of(item.prompt)),
            reference=reference,
            steps=[neutralise(s) for s in steps],
        ).strip()
        response_format = extra = None
        if p.verdict == "json":
            label = {"type": "string", "enum": list(LABELS)}
            response_format, extra = list_verdict_format(
                self.backend_params.structured_output,
                "labels",
                len(steps),
                '"(correct|incorrect)"',
                label,
            )
        namespace = f"{TEMPLATE_VERSION}:{p.verdict}"
        return ChatRequest(
            messages=(("system", system), ("user", user)),
            max_tokens=p.max_tokens,
            temperature=p.temperature,
            response_format=response_format,
            extra_body=extra,
            seed=self.seed(sample),
            namespace=self.cache_namespace(namespace, attempt),
        )

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        p: StepParams = self.params
        if self.contentless(item.response):
            floored = self.floored(0.0)
            floored.steps, floored.metadata["first_error_step"] = [], 0
            return floored
        steps = split_steps(item, p.split, p.step_pattern, p.max_steps)

        def read(response: ChatResponse) -> Result:
            correct = parse_step_labels(response.text, len(steps))
            return self._result(steps, correct, response)

        result = await self.sampled(
            lambda sample: self.ask(
                lambda attempt: self.request(item, steps, attempt, sample),
                read,
                key=(item_key(item), sample),
            ),
            step_labels=LABELS,
        )
        if p.samples > 1 and result.steps is not None:  # re-derive the outcome from the majority
            correct = [s.label == "correct" for s in result.steps]
            result.score = aggregate_steps(correct, p.aggregate)
            result.metadata["first_error_step"] = correct.index(False) if False in correct else -1
        return result

    def _result(self, steps: list[str], correct: list[bool], response: ChatResponse) -> Result:
        return Result(
            score=aggregate_steps(correct, self.params.aggregate),
            steps=[
                StepScore(index=i, text=text, score=float(ok), label=LABELS[0] if ok else LABELS[1])
                for i, (text, ok) in enumerate(zip(steps, correct, strict=True))
            ],
            cached=response.cached,
            metadata={
                "first_error_step": correct.index(False) if False in correct else -1,
                "verdict": response.text[:2000],
            },
        )
