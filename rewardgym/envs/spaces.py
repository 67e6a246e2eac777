"""Text spaces for LLM environments: any printable text, newlines and tabs included.

Gymnasium's default ``Text`` charset is alphanumeric only, so a real completion (spaces,
punctuation, LaTeX, other scripts, emoji) would not be "in" the space. ``LLMText`` accepts any
string of printable characters plus newline, tab and carriage return, up to ``max_length``
characters, and samples from the printable characters of Unicode's basic plane. Instances are
shared per length (the charset is large), which is safe: spaces are read-only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from gymnasium.spaces import Text

__all__ = ["DEFAULT_MAX_CHARS", "LLMText", "text_space"]

DEFAULT_MAX_CHARS = 32_768
_WHITESPACE = "\n\t\r"


@cache
def _charset() -> str:
    return _WHITESPACE + "".join(
        c
        for c in map(chr, range(0x20, 0x10000))
        if c.isprintable() and not 0xD800 <= ord(c) < 0xE000
    )


class LLMText(Text):
    """Printable text (any script), newlines and tabs, 0..``max_length`` characters."""

    def __init__(self, max_length: int = DEFAULT_MAX_CHARS, **kwargs: Any) -> None:
        super().__init__(max_length, min_length=0, charset=_charset(), **kwargs)

    def contains(self, x: Any) -> bool:
        return (
            isinstance(x, str)
            and self.min_length <= len(x) <= self.max_length
            and (x.isprintable() or all(c.isprintable() or c in _WHITESPACE for c in x))
        )

    def __repr__(self) -> str:
        return f"LLMText(max_length={self.max_length})"


@cache
def text_space(max_length: int = DEFAULT_MAX_CHARS) -> LLMText:
    """The shared text space of this length."""
    return LLMText(max_length)
