"""Which tool result a passing answer came from (ToolUse's ``useful`` step reward).

Built to be paid only for real help, as a policy would try to earn it otherwise:

- the answer is what the outcome reward read (math's ``extracted_answer``), else the last
  ``\\boxed{}`` (braces balanced), else the whole answer; an answer that holds more than one
  number (``7006652 (5)``) is ambiguous and comes from no result;
- a result counts only if its call did not already hold that number (a calculator asked to
  echo the answer computed nothing);
- numbers are read with a sign only at a token's start (``10-5`` holds 10 and 5, not -5) and
  with thousands separators (``7,006,652``, ``7{,}006{,}652``);
- an episode whose results hold more than ``MAX_CANDIDATES`` numbers (or lines, for answers
  with no number) in all is a dump, however it was split across calls: nothing is useful;
- an answer with no number must equal a whole line of a result (case aside), not a substring.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_CANDIDATES", "Output", "answer_text", "useful_output"]

MAX_CANDIDATES = 8

_NUMBER = re.compile(r"(?<![\w.)\]}])-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?|\d+(?:\.\d+)?")
_SEPARATORS = re.compile(r"\{,\}|\\,")


@dataclass(frozen=True)
class Output:
    """A call that ran: the tool turn it is in, its arguments, and what it returned."""

    turn: int
    arguments: Any
    text: str


def numbers(text: str) -> list[float]:
    found = []
    for match in _NUMBER.findall(_SEPARATORS.sub(",", text)):
        try:
            found.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return [n for n in found if math.isfinite(n)]


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def answer_text(answer: str, metadata: dict[str, Any]) -> str:
    """What the answer says, as the outcome reward read it when it says (math)."""
    extracted = metadata.get("extracted_answer")
    if isinstance(extracted, list) and extracted and isinstance(extracted[-1], str):
        return extracted[-1]
    if isinstance(extracted, str):
        return extracted
    boxed = _last_boxed(answer)
    return (boxed if boxed is not None else answer).strip()


def useful_output(answer: str, outputs: Sequence[Output]) -> int | None:
    """The tool turn of the first result that holds ``answer`` (see the module's rules)."""
    wanted = numbers(answer)
    if len(wanted) > 1:
        return None
    if wanted:
        [value] = wanted
        if sum(len(numbers(o.text)) for o in outputs) > MAX_CANDIDATES:
            return None
        for output in outputs:
            asked = numbers(json.dumps(output.arguments, default=str))
            if any(math.isclose(value, n, rel_tol=1e-9) for n in asked):
                continue  # it was told the answer: it computed nothing
            if any(math.isclose(value, n, rel_tol=1e-9) for n in numbers(output.text)):
                return output.turn
        return None
    target = answer.strip().lower()
    lines = [(o, line.strip().lower()) for o in outputs for line in o.text.splitlines()]
    if not target or len([1 for _, line in lines if line]) > MAX_CANDIDATES:
        return None
    told = re.compile(rf"(?<!\w){re.escape(target)}(?!\w)")
    for output, line in lines:
        if line == target and not told.search(json.dumps(output.arguments, default=str).lower()):
            return output.turn
    return None
