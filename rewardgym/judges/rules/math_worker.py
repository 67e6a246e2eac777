"""What runs inside a math worker process: math-verify's parse and verify, no signal timeouts.

Timeouts are the pool's job (it kills an overrunning worker), so math-verify's SIGALRM
timeouts are turned off here; this module is imported only in worker processes.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.parser import StringExtractionConfig

__all__ = ["hedged", "verify_answer"]

logging.getLogger("math_verify").setLevel(logging.ERROR)

_TARGETS: dict[tuple[Any, ...], list[Any]] = {}
_DELIMITERS = ("$", "\\(", "\\[", "\\boxed")
# Where a final answer is stated: after the last cue, to the end of its line.
_CUE = re.compile(r"answer\s*(?:is|:|=)|\\boxed\s*\{", re.IGNORECASE)
# A number offered with an alternative: "2 or 3", "\boxed{2} or 3", "2 (or maybe 3)",
# "2.\nOr maybe three", "\boxed{2 \text{ (or 3)}}", "2, but it could be 3", "2, unless 3".
_NUMBER = r"(\d+(?:\.\d+)?|\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten)\b)"
_GAP = r"(?:[\s$(){}\[\].,;:^~]|\\text\s*\{|\\mathrm\s*\{|\\(?:quad|qquad|[,;! ]))*"
_CONNECTIVE = (
    r"\b(?:or|and/or|alternatively|possibly|perhaps|maybe|unless|otherwise|versus|vs"
    r"|could\s+(?:also\s+)?be|might\s+(?:also\s+)?be|if\s+not)\b"
)
_HEDGE = re.compile(
    rf"{_NUMBER}{_GAP}[^\d\n]{{0,24}}?{_CONNECTIVE}[^\d\n]{{0,24}}?-?{_NUMBER}", re.IGNORECASE
)
_REGION_CHARS = 2000


def hedged(text: str) -> bool:
    """Whether the stated final answer of ``text`` offers alternatives (a policy's hedge:
    math-verify reads "The answer is 2 or 3" as 2). Looks from the first answer cue ("answer
    is", "answer:", ``\\boxed{``) on the line of the last one to the end of the text, else at
    the last line."""
    cues = list(_CUE.finditer(text))
    if cues:
        line_start = text.rfind("\n", 0, cues[-1].start()) + 1
        first = _CUE.search(text, line_start)
        region = text[first.start() if first else line_start :]
    else:
        region = (text.strip().splitlines() or [""])[-1]
    matches = _HEDGE.finditer(region[:_REGION_CHARS])
    return any(m.group(1).lower() != m.group(2).lower() for m in matches)  # not "2, or 2"


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
    started = time.perf_counter()
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
    hedge = bool(equal) and options.get("reject_hedges", True) and hedged(pred)
    if hedge and hedged(gold):  # the gold itself is a choice ("2 or 3"): no hedge
        hedge = False
    # math-verify keeps an expression unevaluated (1234*5678 is a Mul): a number is a Number
    not_literal = (
        bool(equal)
        and options.get("literal", False)
        and not any(getattr(x, "is_Number", False) for x in pred_parsed[:1])
    )
    return {
        "equal": bool(equal) and not hedge and not not_literal,
        "hedged": hedge,
        "not_literal": not_literal,
        "gold": [str(x) for x in gold_parsed[-1:]],
        "pred": [str(x) for x in pred_parsed[-1:]],
        "seconds": time.perf_counter() - started,
    }
