"""``string_check``: compare the response with the reference (eq, ne, contains, regex)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.rules._text import NormaliseParams, normaliser
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.judges.user_regex import compile_pattern, search
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy
from rewardgym.trusted import trusted_result

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

    @cached_property
    def _normalise(self) -> Callable[[str], str]:
        return normaliser(self.params)

    @cached_property
    def _normalise_reference(self) -> Callable[[str], str]:
        # References repeat across a batch (a GRPO group shares one): each normalised once.
        return lru_cache(maxsize=4096)(self._normalise)

    @cached_property
    def _fixed_refs(self) -> list[str] | None:
        """The params' own references, normalised once (None: each item brings its own)."""
        p: StringCheckParams = self.params
        if p.reference is None or p.operation == "regex":
            return None
        return [self._normalise(r) for r in reference_texts(p.reference, "string_check")]

    def compute(self, item: Item) -> Result:
        p: StringCheckParams = self.params
        refs = self._fixed_refs
        texts: list[str] = []
        if refs is None:
            raw = p.reference if p.reference is not None else item.reference
            if raw is None:
                raise RewardError(ErrorType.INVALID_INPUT, "string_check needs a reference")
            texts = reference_texts(raw, "string_check")
        answer = text_of(item.response)
        if p.extract is not None:
            match = search(compile_pattern(p.extract, dotall=True), answer)
            if match is None:
                return Result(score=0.0, metadata={"extracted": None})
            answer = match.group(1) if match.groups() else match.group(0)
        answer = self._normalise(answer)
        operation = p.operation
        if operation == "regex":
            ok = any(self._matches(answer, ref) for ref in texts)
            return trusted_result(1.0 if ok else 0.0)
        if refs is None:
            refs = [self._normalise_reference(ref) for ref in texts]
        if operation == "eq":
            ok = answer in refs
        elif operation == "ne":
            ok = any(answer != ref for ref in refs)
        elif operation == "contains":
            ok = any(ref in answer for ref in refs)
        else:
            folded = answer.casefold()
            ok = any(ref.casefold() in folded for ref in refs)
        return trusted_result(1.0 if ok else 0.0)

    @staticmethod
    def _matches(answer: str, ref: str) -> bool:
        try:
            pattern = compile_pattern(ref)
        except ConfigError as exc:  # the item's own reference: that item's invalid input
            raise RewardError(ErrorType.INVALID_INPUT, exc.message) from exc
        return search(pattern, answer) is not None
