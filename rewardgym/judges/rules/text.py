"""``string_check``: compare the response with the reference (eq, ne, contains, regex)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.rules._text import NormaliseParams, normalise
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.judges.user_regex import compile_pattern, search
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["StringCheck", "StringCheckParams"]


class StringCheckParams(NormaliseParams):
    operation: Literal["eq", "ne", "contains", "icontains", "regex"] = "eq"
    reference: str | list[str] | None = Field(
        default=None, description="fixed reference; default: the item's reference"
    )
    extract: str | None = Field(
        default=None, description="regex whose first group (or match) is the answer to check"
    )

    @model_validator(mode="after")
    def _check_patterns(self) -> StringCheckParams:
        if self.extract is not None:
            compile_pattern(self.extract, dotall=True)
        if self.operation == "regex":
            for ref in self.reference if isinstance(self.reference, list) else [self.reference]:
                if ref is not None:
                    compile_pattern(ref)
        return self


class StringCheck(SyncRule):
    """1.0 when the check holds against the reference (any of several references), else 0.0."""

    type_id = "string_check"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = StringCheckParams
    description = "String check of the response against the reference (eq/ne/contains/regex)"

    def compute(self, item: Item) -> Result:
        p: StringCheckParams = self.params
        refs = p.reference if p.reference is not None else item.reference
        if refs is None:
            raise RewardError(ErrorType.INVALID_INPUT, "string_check needs a reference")
        ref_list = reference_texts(refs, "string_check")
        answer = text_of(item.response)
        if p.extract is not None:
            match = search(compile_pattern(p.extract, dotall=True), answer)
            if match is None:
                return Result(score=0.0, metadata={"extracted": None})
            answer = match.group(1) if match.groups() else match.group(0)
        answer = normalise(answer, p)
        ok = any(self._check(answer, ref) for ref in ref_list)
        return Result(score=1.0 if ok else 0.0)

    def _check(self, answer: str, ref: str) -> bool:
        p: StringCheckParams = self.params
        if p.operation == "regex":
            try:
                pattern = compile_pattern(ref)
            except ConfigError as exc:  # the item's own reference: that item's invalid input
                raise RewardError(ErrorType.INVALID_INPUT, exc.message) from exc
            return search(pattern, answer) is not None
        ref = normalise(ref, p)
        if p.operation == "eq":
            return answer == ref
        if p.operation == "ne":
            return answer != ref
        if p.operation == "contains":
            return ref in answer
        return ref.casefold() in answer.casefold()
