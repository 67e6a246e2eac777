"""``length`` (target range, soft overlong penalty) and ``repetition`` (n-gram penalty)."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, model_validator

from rewardgym.judges.base import Params
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import text_of
from rewardgym.schema import Basis, Item, Result, Taxonomy

__all__ = ["LengthParams", "LengthReward", "RepetitionParams", "RepetitionReward", "measure"]


def measure(text: str, unit: str) -> int:
    """Length of ``text`` in characters, whitespace-separated words, or lines."""
    if unit == "chars":
        return len(text)
    if unit == "lines":
        return len(text.splitlines())
    return len(text.split())


class LengthParams(Params):
    unit: Literal["chars", "words", "lines"] = "words"
    min: int = Field(default=0, ge=0, description="shorter than this scores 0 (or ramps, soft)")
    max: int | None = Field(default=None, ge=0, description="the target's upper end")
    overlong_buffer: int = Field(
        default=0,
        ge=0,
        description="soft penalty (DAPO style): from max to max+buffer the score falls 1 -> 0",
    )
    penalty: bool = Field(
        default=False, description="return 0 in range and a negative penalty outside (-1 worst)"
    )

    @model_validator(mode="after")
    def _range(self) -> LengthParams:
        if self.max is not None and self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class LengthReward(SyncRule):
    """1.0 inside [min, max], a linear fall to 0 over the overlong buffer, 0 beyond."""

    type_id = "length"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = LengthParams
    description = "Length within a target range, with a soft overlong penalty"

    def compute(self, item: Item) -> Result:
        p: LengthParams = self.params
        n = measure(text_of(item.response), p.unit)
        if n < p.min:
            score = 0.0
        elif p.max is None or n <= p.max:
            score = 1.0
        elif p.overlong_buffer and n <= p.max + p.overlong_buffer:
            score = 1.0 - (n - p.max) / p.overlong_buffer
        else:
            score = 0.0
        if p.penalty:
            score -= 1.0
        return Result(score=score, metadata={"length": n, "unit": p.unit})


class RepetitionParams(Params):
    n: int = Field(default=3, ge=1, le=20, description="n-gram size")
    unit: Literal["words", "chars"] = "words"
    penalty: bool = Field(
        default=False, description="return -(repeated fraction) instead of 1 - fraction"
    )
    min_ngrams: int = Field(default=1, ge=1, description="responses with fewer n-grams score 1")


class RepetitionReward(SyncRule):
    """1 - (repeated n-grams / all n-grams): 1.0 for no repetition, near 0 for loops."""

    type_id = "repetition"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = RepetitionParams
    description = "N-gram repetition penalty"

    def compute(self, item: Item) -> Result:
        p: RepetitionParams = self.params
        text = text_of(item.response)
        tokens: list[str] | str = text.split() if p.unit == "words" else text
        grams = [tuple(tokens[i : i + p.n]) for i in range(len(tokens) - p.n + 1)]
        if len(grams) < p.min_ngrams:
            fraction = 0.0
        else:
            counts = Counter(grams)
            fraction = sum(c - 1 for c in counts.values()) / len(grams)
        score = -fraction if p.penalty else 1.0 - fraction
        return Result(score=score, metadata={"repeated_fraction": fraction, "ngrams": len(grams)})
