"""Which tool result a passing answer came from (ToolUse's ``useful`` step reward).

Built to be paid only for real help, as a policy would try to earn it otherwise:

- the answer is what the outcome reward read (math's ``extracted_answer``), else the last
  ``\\boxed{}`` (braces balanced), else the whole answer; an answer that holds more than one
  number (``7006652 (5)``) is ambiguous and comes from no result;
- a result counts unless its call only restated a value: a calculator expression, or python
  code printing nothing but literals (``7006652``, ``7_006_652``, ``0x6aea3c``, ``print('C')``),
  computed nothing. A policy that knows the answer can still have a tool compute it
  (``7006651+1``): that is a check by a tool, the use of tools this pays for, once an episode
  and only for a correct answer;
- a simple fraction (``\\frac{7}{2}``, ``7/2``) is one number, its value;
- numbers are read with a sign only at a token's start (``10-5`` holds 10 and 5, not -5) and
  with thousands separators (``7,006,652``, ``7{,}006{,}652``);
- an episode whose results hold more than ``MAX_CANDIDATES`` numbers (or lines, for answers
  with no number) in all is a dump, however it was split across calls: nothing is useful;
- an answer with no number must equal a whole line of a result (case aside), not a substring.
"""

from __future__ import annotations

import ast
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
    outputs = [o for o in outputs if not restates(o.arguments)]
    wanted = _fraction(answer) or numbers(answer)
    if len(wanted) > 1:
        return None
    if wanted:
        [value] = wanted
        if sum(len(numbers(o.text)) for o in outputs) > MAX_CANDIDATES:
            return None
        for output in outputs:
            if any(math.isclose(value, n, rel_tol=1e-9) for n in numbers(output.text)):
                return output.turn
        return None
    target = answer.strip().lower()
    lines = [(o, line.strip().lower()) for o in outputs for line in o.text.splitlines()]
    if not target or len([1 for _, line in lines if line]) > MAX_CANDIDATES:
        return None
    return next((o.turn for o, line in lines if line == target), None)


_FRACTION = re.compile(r"(-)?\s*(?:\\[dt]?frac\{(-?\d+)\}\{(\d+)\}|\(?(-?\d+)\s*/\s*(\d+)\)?)")


def _fraction(answer: str) -> list[float]:
    """``[a/b]`` for an answer that is one simple fraction, else ``[]``."""
    found = _FRACTION.fullmatch(answer.strip())
    if found is None:
        return []
    numerator, denominator = int(found[2] or found[4]), int(found[3] or found[5])
    if denominator == 0:
        return []
    return [(-1 if found[1] else 1) * numerator / denominator]


def restates(arguments: Any) -> bool:
    """Whether a call only states values: its expression or code is literals (and prints)."""
    if not isinstance(arguments, dict):
        return False
    source = arguments.get("expression", arguments.get("code"))
    if not isinstance(source, str):
        return False
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(tree.body) and all(_literal_statement(node) for node in tree.body)


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        return _literal(node.operand)
    return isinstance(node, ast.Constant)


def _literal_statement(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Expr):
        return False
    value = node.value
    if _literal(value):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "print"
        and all(_literal(a) for a in value.args)
    )
