"""What runs inside a math worker process: math-verify's parse and verify, no signal timeouts.

Timeouts are the pool's job (it kills an overrunning worker), so math-verify's SIGALRM
timeouts are turned off here; this module is imported only in worker processes.
"""

from __future__ import annotations

import logging
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.parser import StringExtractionConfig

__all__ = ["verify_answer"]

logging.getLogger("math_verify").setLevel(logging.ERROR)

_TARGETS: dict[tuple[Any, ...], list[Any]] = {}
_DELIMITERS = ("$", "\\(", "\\[", "\\boxed")


def _targets(extraction: tuple[str, ...], boxed_priority: int) -> list[Any]:
    key = (extraction, boxed_priority)
    if key not in _TARGETS:
        made: list[Any] = []
        for kind in extraction:
            if kind == "latex":
                made.append(LatexExtractionConfig(boxed_match_priority=boxed_priority))
            elif kind == "expr":
                made.append(ExprExtractionConfig())
            elif kind == "string":
                made.append(StringExtractionConfig())
        _TARGETS[key] = made
    return _TARGETS[key]


def verify_answer(gold: str, pred: str, options: dict[str, Any]) -> dict[str, Any]:
    """Is ``pred`` equal to ``gold``? Returns the verdict and what was extracted from each."""
    targets = _targets(tuple(options["extraction"]), options["boxed_priority"])
    gold_parsed = []
    if options.get("wrap_gold", True) and not any(d in gold for d in _DELIMITERS):
        # A bare gold is LaTeX without its delimiters: read whole when wrapped. Read bare, a
        # fragment is taken for the whole (\frac{5}{6} + \sqrt{5} as 5/6, [1, 3) as 3).
        gold_parsed = parse(f"${gold}$", targets, parsing_timeout=None)
    if not gold_parsed:
        gold_parsed = parse(gold, targets, parsing_timeout=None)
    pred_parsed = parse(pred, targets, parsing_timeout=None)
    equal = bool(gold_parsed) and verify(
        gold_parsed,
        pred_parsed,
        float_rounding=options["precision"],
        strict=options["strict"],
        allow_set_relation_comp=options["allow_set_relation_comp"],
        timeout_seconds=None,
    )
    return {
        "equal": bool(equal),
        "gold": [str(x) for x in gold_parsed[-1:]],
        "pred": [str(x) for x in pred_parsed[-1:]],
    }
