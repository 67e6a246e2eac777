"""Walk a JSON-like value without recursion: caller-sent values may nest far too deep for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["iter_json"]


def iter_json(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside ``value`` (itself first) with its depth (``value`` is depth 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, level = stack.pop()
        yield current, level
        if isinstance(current, dict):
            stack.extend((v, level + 1) for v in current.values())
        elif isinstance(current, list | tuple):
            stack.extend((v, level + 1) for v in current)
