"""``calculator``: arithmetic on numbers, evaluated from its syntax tree (never ``eval``),
within bounds on size and magnitude."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from rewardgym.judges.tools.tool import Tool, ToolError

__all__ = ["MAX_CHARS", "calculate", "calculator_tool"]

MAX_CHARS = 500
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e300

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "factorial": math.factorial,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("only numbers")
    if abs(value) > MAX_MAGNITUDE:
        raise ToolError("a number too large")
    return value


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _number(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolError(f"exponents above {MAX_EXPONENT} are not computed")
        return _number(_BINARY[type(node.op)](left, right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(a) for a in node.args]
        if node.func.id == "factorial" and (args and abs(args[0]) > 500):
            raise ToolError("factorial above 500 is not computed")
        if node.func.id == "round" and len(args) > 1 and abs(args[1]) > 100:
            # round(1, -10**9) computes 10**(10**9) holding the GIL: every thread stops
            raise ToolError("round to at most 100 digits")
        return _number(_FUNCTIONS[node.func.id](*args))
    raise ToolError(f"not arithmetic: {ast.dump(node)[:80]}")


def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression: numbers, + - * / // % **, parentheses, pi, e and
    sqrt, log, exp, sin, cos, tan, abs, round, min, max, factorial."""
    if len(expression) > MAX_CHARS:
        raise ToolError(f"at most {MAX_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not an expression: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # surrogates, deep nesting
        raise ToolError(f"not an expression: {type(exc).__name__}") from None
    try:
        value = _eval(tree)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        raise ToolError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return repr(value) if isinstance(value, float) else str(value)


def calculator_tool() -> Tool:
    return Tool.from_function(calculate, name="calculator")
