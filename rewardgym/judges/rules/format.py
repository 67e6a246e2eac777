"""``format``: does the response follow a required layout (regex, required tags)?"""

from __future__ import annotations

import re2
from pydantic import Field, model_validator

from rewardgym.judges.base import Params
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import text_of
from rewardgym.judges.user_regex import compile_pattern, search
from rewardgym.schema import Basis, Item, Result, Taxonomy

__all__ = ["FormatParams", "FormatReward"]


class FormatParams(Params):
    pattern: str | None = Field(
        default=None, description="regex the whole response must match (fullmatch, DOTALL)"
    )
    tags: list[str] = Field(
        default_factory=list, description="tags each required once, e.g. [think, answer]"
    )
    ordered: bool = Field(default=True, description="tags must appear in the given order")
    partial_credit: bool = Field(
        default=False, description="score = fraction of checks passed instead of all-or-nothing"
    )

    @model_validator(mode="after")
    def _needs_a_check(self) -> FormatParams:
        if self.pattern is None and not self.tags:
            raise ValueError("format needs a pattern or tags")
        if self.pattern is not None:
            compile_pattern(self.pattern, dotall=True)
        return self


class FormatReward(SyncRule):
    """1.0 when every format check passes (or the fraction passed, with partial credit)."""

    type_id = "format"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = FormatParams
    description = "Format check: a regex over the whole response and/or required tags"

    def compute(self, item: Item) -> Result:
        p: FormatParams = self.params
        text = text_of(item.response)
        checks: dict[str, float | None] = {}
        if p.pattern is not None:
            full = compile_pattern(p.pattern, dotall=True)
            checks["pattern"] = 1.0 if full.fullmatch(text) is not None else 0.0
        last_end = -1
        for tag in p.tags:
            found = search(
                compile_pattern(f"<{re2.escape(tag)}>(.*?)</{re2.escape(tag)}>", dotall=True),
                text,
            )
            once = text.count(f"<{tag}>") == 1 and text.count(f"</{tag}>") == 1
            in_order = found is not None and (not p.ordered or found.start() >= last_end)
            checks[f"tag:{tag}"] = 1.0 if found is not None and once and in_order else 0.0
            if found is not None:
                last_end = found.end()
        values = [v for v in checks.values() if v is not None]
        score = sum(values) / len(values) if p.partial_credit else float(min(values))
        return Result(score=score, scores=checks)
