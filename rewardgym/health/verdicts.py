"""How the audits compare two verdicts on the same thing: pass or fail, the same score, the
same top choice."""

from __future__ import annotations

from rewardgym.schema import Result

__all__ = ["PASS_SCORE", "SCORE_TOLERANCE", "passes", "scores_agree", "top_choice"]

PASS_SCORE = 0.5
"""A score of at least this passes (judges normalise to [0, 1], rules score 0 or 1)."""

SCORE_TOLERANCE = 0.1
"""Two scores of one item agree within this on the [0, 1] scale: the same level of a rubric
of up to ten levels (one level apart is 1/9 or more), a tenth of the range for log-prob
verdicts."""


def passes(score: float) -> bool:
    return score >= PASS_SCORE


def scores_agree(a: float, b: float, tolerance: float = SCORE_TOLERANCE) -> bool:
    return abs(a - b) <= tolerance + 1e-9


def top_choice(result: Result) -> int | None:
    """The response a comparison ranked first (None: it failed, or ranked none)."""
    if result.error is not None or result.preference is None or not result.preference.ranking:
        return None
    return result.preference.ranking[0]
