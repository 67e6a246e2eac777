"""``reasoning_gym``: a reasoning-gym task family's own answer checker as a reward.

The item carries the generated task in ``metadata.reasoning_gym = {dataset, entry}`` (what
``rewardgym.envs.ReasoningGymSource`` puts there), so the same reward works in process and on a
server. The answer is pulled out of the response first (``extract``): the last
``<answer>...</answer>``, else the last ``\\boxed{...}``, else a last "Answer: ..." line, else
the last non-empty line (``auto``), or one of those rules alone.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.base import Params, SyncRule, text_of
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["ReasoningGymParams", "ReasoningGymReward", "extract_answer"]

Extract = Literal["auto", "answer_tag", "boxed", "answer_line", "last_line", "none"]
_TAG = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
_ANSWER_LINE = re.compile(r"^\s*(?:final\s+)?answer\s*:\s*(.+?)\s*$", re.IGNORECASE | re.M)


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def extract_answer(text: str, how: Extract = "auto") -> str | None:
    """The answer part of a response by rule ``how`` (None when the rule finds nothing)."""
    if how == "none":
        return text.strip()
    if how in ("auto", "answer_tag"):
        tags = _TAG.findall(text)
        if tags or how == "answer_tag":
            return tags[-1].strip() if tags else None
    if how in ("auto", "boxed"):
        boxed = _last_boxed(text)
        if boxed is not None or how == "boxed":
            return boxed
    if how in ("auto", "answer_line"):
        lines = _ANSWER_LINE.findall(text)
        if lines or how == "answer_line":
            return lines[-1].strip() if lines else None
    rest = [line.strip() for line in text.splitlines() if line.strip()]
    return rest[-1] if rest else None


@cache
def _checker(dataset: str) -> Any:
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(dataset)


class ReasoningGymParams(Params):
    extract: Extract = Field(default="auto", description="how to find the answer")


class ReasoningGymReward(SyncRule):
    """The task family's checker score (usually 0 or 1, some give partial credit)."""

    type_id = "reasoning_gym"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = ReasoningGymParams
    description = "reasoning-gym's own answer checker for the task in metadata.reasoning_gym"

    def compute(self, item: Item) -> Result:
        task = item.metadata.get("reasoning_gym")
        if not isinstance(task, dict) or "dataset" not in task or "entry" not in task:
            raise RewardError(
                ErrorType.INVALID_INPUT,
                "needs metadata.reasoning_gym = {dataset, entry} (ReasoningGymSource adds it)",
            )
        try:
            check = _checker(str(task["dataset"]))
        except Exception as exc:
            raise RewardError(
                ErrorType.INVALID_INPUT, f"unknown reasoning-gym dataset {task['dataset']!r}"
            ) from exc
        answer = extract_answer(text_of(item.response), self.params.extract)
        if answer is None:
            return Result(score=0.0, metadata={"answer": None, "reason": "no answer found"})
        try:
            score = float(check(answer=answer, entry=task["entry"]))
        except Exception as exc:  # a checker that chokes on odd input: an error, not 0
            raise RewardError(
                ErrorType.INTERNAL, f"the {task['dataset']} checker raised {exc!r}"
            ) from exc
        return Result(score=score, metadata={"answer": answer})
