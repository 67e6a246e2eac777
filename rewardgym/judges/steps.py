"""Split a response into reasoning steps (for step-level judges and process reward models)."""

from __future__ import annotations

import re
from typing import Literal

from rewardgym.errors import RewardError
from rewardgym.judges.texts import text_of
from rewardgym.schema import ErrorType, Item

__all__ = ["SplitRule", "split_steps"]

SplitRule = Literal["auto", "given", "lines", "paragraphs", "regex"]


def split_steps(
    item: Item, rule: SplitRule = "auto", pattern: str | None = None, max_steps: int = 64
) -> list[str]:
    """The item's steps: ``item.steps`` when given; else the response split by ``rule``
    (``auto``: paragraphs when there is a blank line, else lines; ``regex``: split on
    ``pattern``). Empty pieces are dropped. Too many steps, or none, is an invalid item."""
    if item.steps is not None:
        steps = [s for s in item.steps if s.strip()]
    elif rule == "given":
        raise RewardError(ErrorType.INVALID_INPUT, "this reward needs item.steps")
    else:
        text = text_of(item.response)
        if rule == "regex":
            if not pattern:
                raise RewardError(ErrorType.CONFIG_ERROR, "split 'regex' needs step_pattern")
            pieces = re.split(pattern, text)
        elif rule == "paragraphs" or (rule == "auto" and re.search(r"\n\s*\n", text)):
            pieces = re.split(r"\n\s*\n", text)
        else:
            pieces = text.splitlines()
        steps = [p.strip() for p in pieces if p.strip()]
    if not steps:
        raise RewardError(ErrorType.INVALID_INPUT, "the response has no steps to judge")
    if len(steps) > max_steps:
        raise RewardError(
            ErrorType.INVALID_INPUT, f"{len(steps)} steps; this reward judges at most {max_steps}"
        )
    return steps
