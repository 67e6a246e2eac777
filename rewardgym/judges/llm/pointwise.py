"""``pointwise``: an LLM judge scores one response against a rubric (optionally a reference).

Verdicts: ``json`` (structured output: critique + score), ``text`` ("Score: N", parsed), or
``logprobs`` (G-Eval: the expected score under the judge's distribution over score tokens, a
continuous reward from a single generated token). Scores are normalised to [0, 1] by default;
the raw score and the critique are kept. An unreadable verdict is retried once, then it is a
``judge_parse_error`` on that item, never a score.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import Field

from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.base import Params
from rewardgym.judges.llm._judge import JudgeParams
from rewardgym.judges.llm.parsers import (
    VerdictError,
    expected_score,
    neutralise,
    parse_json_score,
    parse_text_score,
)
from rewardgym.judges.llm.rubrics import RUBRICS, custom_rubric, permuted_levels
from rewardgym.judges.llm.single_request import SingleRequestJudge
from rewardgym.judges.texts import conversation_of, text_of
from rewardgym.schema import Basis, Format, Item, Result, Taxonomy

__all__ = ["CustomRubric", "PointwiseJudge", "PointwiseParams"]

TEMPLATE_VERSION = "pointwise-v1"


class CustomRubric(Params):
    description: str = Field(min_length=1)
    scores: dict[int, str] = Field(min_length=2, description="score -> what earns it")


class PointwiseParams(JudgeParams):
    rubric: Literal["additive5", "helpfulness10"] | CustomRubric = "helpfulness10"
    verdict: Literal["json", "text", "logprobs"] = "json"
    normalize: bool = Field(default=True, description="map the score to [0, 1]")
    critique_max_chars: int = Field(default=2000, ge=1, description="json verdict: cap")

    AT_MOST_DEFAULT = JudgeParams.AT_MOST_DEFAULT | {"critique_max_chars"}


class PointwiseJudge(SingleRequestJudge):
    """Rubric score from an LLM judge, with its critique."""

    type_id = "pointwise"
    templates = "pointwise"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.CRITIQUE)
    Params = PointwiseParams
    description = "LLM judge: rubric score (JSON, text or log-probability weighted) + critique"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: PointwiseParams = self.params
        rubric = p.rubric
        self.rubric_text, self.lo, self.hi = (
            RUBRICS[rubric]
            if isinstance(rubric, str)
            else custom_rubric(rubric.description, rubric.scores)
        )
        if p.verdict == "logprobs":
            self.taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.SCALAR)

    def _permute(self, seed: int) -> PointwiseJudge | None:
        """This judge with a custom rubric's levels listed in another order
        (``permuted_levels``); a built-in rubric is prose with nothing to permute: None."""
        rubric = self.params.rubric
        if isinstance(rubric, str):
            return None
        order = permuted_levels(list(rubric.scores), seed)
        text, _, _ = custom_rubric(rubric.description, rubric.scores, order)
        return self.sibling(rubric_text=text)

    @cached_property
    def namespace(self) -> str:
        return f"{TEMPLATE_VERSION}:{self.params.verdict}:{self.lo}-{self.hi}"

    def messages(self, item: Item) -> tuple[tuple[str, str], ...]:
        """The chat messages sent to the judge for one item."""
        p: PointwiseParams = self.params
        reference = self.reference(item)
        settings = {
            "rubric": self.rubric_text,
            "verdict": "score_only" if p.verdict == "logprobs" else p.verdict,
            "min_score": self.lo,
            "max_score": self.hi,
        }
        user = self.render_user(
            **settings,
            prompt=neutralise(conversation_of(item.prompt)),
            response=neutralise(text_of(item.response)),
            reference=reference,
        )
        system = self.system_message(self._system, **settings, reference=reference is not None)
        return (("system", system), ("user", user.strip()))

    def request(self, item: Item, attempt: int = 0, sample: int = 0) -> ChatRequest:
        """The chat request for one item; ``attempt`` > 0 asks again past the cache;
        ``sample`` numbers self-consistency samples (each its own seed)."""
        p: PointwiseParams = self.params
        how = self.backend_params.structured_output
        response_format: dict[str, Any] | None = None
        extra: dict[str, Any] | None = None
        top_logprobs = None
        choices = None
        max_tokens = p.max_tokens
        if p.verdict == "json" and how != "none":
            schema = {
                "type": "object",
                "required": ["critique", "score"],
                "properties": {
                    "critique": {"type": "string", "maxLength": p.critique_max_chars},
                    "score": {"type": "integer", "minimum": self.lo, "maximum": self.hi},
                },
            }
            if how == "vllm":
                # A regex of the same JSON without free whitespace: a weak judge cannot pad
                # with whitespace until max_tokens (vLLM sets that option per server, not
                # per request).
                scores = "|".join(str(s) for s in range(self.hi, self.lo - 1, -1))
                chars = r'[^"\\\x00-\x1f]'  # a JSON string character, escapes excluded
                length = "{0," + str(p.critique_max_chars) + "}"
                regex = r'\{"critique":"' + chars + length + r'","score":(' + scores + r")\}"
                extra = {"structured_outputs": {"regex": regex}}
            else:
                response_format = {
                    "type": "json_schema",
                    "json_schema": {"name": "verdict", "schema": schema},
                }
        elif p.verdict == "logprobs":
            top_logprobs = p.top_logprobs
            max_tokens = 4
            choices = tuple(str(s) for s in range(self.lo, self.hi + 1))
        return ChatRequest(
            messages=self.messages(item),
            max_tokens=max_tokens,
            temperature=p.temperature,
            top_logprobs=top_logprobs,
            response_format=response_format,
            extra_body=extra,
            choices=choices,
            seed=self.seed(sample),
            namespace=self.cache_namespace(self.namespace, attempt),
        )

    def floor_score(self) -> float:
        return 0.0 if self.params.normalize else float(self.lo)

    def _read(self, response: ChatResponse) -> Result:
        p: PointwiseParams = self.params
        metadata: dict[str, Any] = {"verdict": response.text[:2000]}
        critique = None
        if p.verdict == "logprobs":
            if not response.logprobs:
                raise VerdictError("the backend returned no log-probabilities")
            raw, probs = expected_score(response.logprobs[0], self.lo, self.hi)
            metadata["probabilities"] = {str(k): v for k, v in probs.items()}
        elif p.verdict == "json":
            raw, critique = parse_json_score(response.text, self.lo, self.hi)
        else:
            raw, critique = parse_text_score(response.text, self.lo, self.hi)
        metadata["raw_score"] = raw
        score = (raw - self.lo) / (self.hi - self.lo) if p.normalize else raw
        return Result(score=score, critique=critique, cached=response.cached, metadata=metadata)
