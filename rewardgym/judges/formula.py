"""A safe arithmetic-expression parser for ``formula`` rewards (no ``eval``).

Grammar: numbers, variables, ``+ - * / ^`` (``^`` is power, right-associative), unary minus,
parentheses, and the functions min, max, abs, floor, ceil, exp, sqrt, log (log(x) or log(x, b)).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

__all__ = ["FUNCTIONS", "Formula", "FormulaError"]

Env = Mapping[str, float]
Node = Callable[[Env], float]

FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    "min": (min, 1, None),
    "max": (max, 1, None),
    "abs": (abs, 1, 1),
    "floor": (lambda x: float(math.floor(x)), 1, 1),
    "ceil": (lambda x: float(math.ceil(x)), 1, 1),
    "exp": (math.exp, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "log": (math.log, 1, 2),
}
"""name -> (function, fewest arguments, most arguments or None for any)."""

_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\S))"
)
_MAX_LENGTH = 2000
MAX_NODES = 200
"""Operators, numbers, variables and calls in one formula at most: evaluation recurses once per
level, so this bounds its depth far below Python's recursion limit."""
MAX_DEPTH = 50


class FormulaError(ValueError):
    """The expression cannot be parsed, or names something unknown."""


class Formula:
    """A parsed expression; call ``evaluate(values)`` with a value for each variable."""

    def __init__(self, source: str) -> None:
        if len(source) > _MAX_LENGTH:
            raise FormulaError(f"formula is longer than {_MAX_LENGTH} characters")
        self.source = source
        self.variables: set[str] = set()
        self._tokens = self._tokenise(source)
        self._pos = 0
        self._depth = 0
        self._nodes = 0
        node = self._expr()
        if self._peek() is not None:
            raise FormulaError(f"unexpected {self._peek()!r} in formula {source!r}")
        self._node = node

    def evaluate(self, values: Env) -> float:
        """The value of the formula; raises FormulaError on a math domain error."""
        try:
            return float(self._node(values))
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise FormulaError(f"formula {self.source!r}: {exc}") from exc

    @staticmethod
    def _tokenise(source: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(source):
            if source[pos:].strip() == "":
                break
            m = _TOKEN.match(source, pos)
            if m is None:
                raise FormulaError(f"cannot read formula at {source[pos:]!r}")
            number, name, op = m.groups()
            if number is not None:
                tokens.append(("num", number))
            elif name is not None:
                tokens.append(("name", name))
            elif op in "+-*/^(),":
                tokens.append(("op", op))
            else:
                raise FormulaError(f"unexpected character {op!r} in formula {source!r}")
            pos = m.end()
        return tokens

    def _count(self) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise FormulaError(f"formula has more than {MAX_NODES} terms and operators")

    def _peek(self) -> str | None:
        return self._tokens[self._pos][1] if self._pos < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        if self._pos >= len(self._tokens):
            raise FormulaError(f"formula {self.source!r} ends too early")
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _expect(self, op: str) -> None:
        kind, value = self._take()
        if (kind, value) != ("op", op):
            raise FormulaError(f"expected {op!r} but found {value!r} in formula {self.source!r}")

    def _expr(self) -> Node:
        node = self._term()
        while self._peek() in ("+", "-"):
            self._count()
            op = self._take()[1]
            left, right = node, self._term()
            node = (
                (lambda a, b: lambda e: a(e) + b(e))(left, right)
                if op == "+"
                else (lambda a, b: lambda e: a(e) - b(e))(left, right)
            )
        return node

    def _term(self) -> Node:
        node = self._unary()
        while self._peek() in ("*", "/"):
            self._count()
            op = self._take()[1]
            left, right = node, self._unary()
            node = (
                (lambda a, b: lambda e: a(e) * b(e))(left, right)
                if op == "*"
                else (lambda a, b: lambda e: a(e) / b(e))(left, right)
            )
        return node

    def _unary(self) -> Node:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise FormulaError(f"formula nests more than {MAX_DEPTH} deep")
        try:
            if self._peek() == "-":
                self._count()
                self._take()
                inner = self._unary()
                return lambda e: -inner(e)
            if self._peek() == "+":
                self._take()
                return self._unary()
            return self._power()
        finally:
            self._depth -= 1

    def _power(self) -> Node:
        base = self._atom()
        if self._peek() == "^":
            self._count()
            self._take()
            exponent = self._unary()  # right-associative: 2^3^2 = 2^(3^2)
            return lambda e: _pow(base(e), exponent(e))
        return base

    def _atom(self) -> Node:
        self._depth += 1
        self._count()
        if self._depth > MAX_DEPTH:
            raise FormulaError(f"formula nests more than {MAX_DEPTH} deep")
        try:
            kind, value = self._take()
            if kind == "num":
                number = float(value)
                return lambda e: number
            if kind == "name":
                if self._peek() == "(":
                    return self._call(value)
                self.variables.add(value)
                return lambda e: _lookup(e, value)
            if value == "(":
                node = self._expr()
                self._expect(")")
                return node
            raise FormulaError(f"unexpected {value!r} in formula {self.source!r}")
        finally:
            self._depth -= 1

    def _call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise FormulaError(f"unknown function {name!r}; allowed: {sorted(FUNCTIONS)}")
        fn, fewest, most = FUNCTIONS[name]
        self._expect("(")
        args = [self._expr()]
        while self._peek() == ",":
            self._take()
            args.append(self._expr())
        self._expect(")")
        if len(args) < fewest or (most is not None and len(args) > most):
            raise FormulaError(f"{name}() takes {fewest}..{most or 'any'} arguments")
        if name in ("min", "max") and len(args) == 1:
            raise FormulaError(f"{name}() needs at least two arguments")
        return lambda e: float(fn(*(a(e) for a in args)))


def _lookup(env: Env, name: str) -> float:
    if name not in env:
        raise FormulaError(f"no value for variable {name!r}")
    return float(env[name])


def _pow(base: float, exponent: float) -> float:
    if abs(exponent) > 1e4 or abs(base) > 1e100:
        raise OverflowError("power too large")
    result = base**exponent
    if isinstance(result, complex):
        raise ValueError("power of a negative number gives a complex value")
    return float(result)
