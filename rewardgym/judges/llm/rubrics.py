"""Built-in rubrics for pointwise judges."""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["RUBRICS", "custom_rubric", "permuted_levels"]

ADDITIVE_5 = """Score the response with this additive 5-point rubric (Self-Rewarding LMs):
- Add 1 point if the response is relevant and provides some information related to the question.
- Add another point if it addresses a substantial portion of the question, even if incomplete.
- Add a third point if it answers the basic elements of the question in a useful way.
- Add a fourth point if it is clearly written from an AI assistant's perspective, addressing the
  question directly and comprehensively, well organised and helpful.
- Add a fifth point if it is impeccably tailored to the question, without extraneous
  information, reflecting expert knowledge and an engaging, insightful answer.
The score is the number of points, from 0 to 5."""

HELPFULNESS_10 = """Rate the helpfulness, relevance, accuracy, depth and level of detail of the
response on a scale of 1 (useless or wrong) to 10 (excellent: correct, complete and clear)."""

RUBRICS: dict[str, tuple[str, int, int]] = {
    "additive5": (ADDITIVE_5, 0, 5),
    "helpfulness10": (HELPFULNESS_10, 1, 10),
}
"""name -> (rubric text, lowest score, highest score)."""


def custom_rubric(
    description: str, scores: dict[int, str], order: Sequence[int] | None = None
) -> tuple[str, int, int]:
    """A rubric with a description for each score, the scores listed in ``order`` (default:
    lowest first)."""
    lines = [description.strip(), "Scores:"]
    lines += [f"- {score}: {scores[score].strip()}" for score in order or sorted(scores)]
    return "\n".join(lines), min(scores), max(scores)


def permuted_levels(levels: Sequence[int], seed: int) -> list[int]:
    """``levels`` (listed lowest first) in another order: highest first for seed 0, a seeded
    shuffle for others; never with the lowest first (a judge drawn to the first level listed
    shows it in every permuted form)."""
    order = sorted(levels, reverse=True)
    if seed:
        random.Random(seed).shuffle(order)
        if order[0] == min(levels):
            order = order[1:] + order[:1]
    return order
