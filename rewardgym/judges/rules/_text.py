"""Shared text helpers for rules: normalisation and regex with a time limit."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

import regex

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params
from rewardgym.schema import ErrorType

__all__ = ["NormaliseParams", "compile_pattern", "normalise", "search"]

REGEX_TIMEOUT_S = 1.0
_PUNCTUATION = regex.compile(r"\p{P}+")


class NormaliseParams(Params):
    lowercase: bool = False
    strip: bool = True
    collapse_whitespace: bool = False
    remove_punctuation: bool = False
    unicode_nfkc: bool = False


def normalise(text: str, opts: NormaliseParams) -> str:
    """Apply the chosen normalisations, in a fixed order."""
    if opts.unicode_nfkc:
        text = unicodedata.normalize("NFKC", text)
    if opts.lowercase:
        text = text.lower()
    if opts.remove_punctuation:
        text = _PUNCTUATION.sub("", text)
    if opts.collapse_whitespace:
        text = " ".join(text.split())
    if opts.strip:
        text = text.strip()
    return text


@lru_cache(maxsize=512)
def compile_pattern(pattern: str, flags: int = 0) -> Any:
    """Compile a user pattern once; a bad pattern is a config error naming it."""
    try:
        return regex.compile(pattern, flags)
    except regex.error as exc:
        raise ConfigError(f"invalid regular expression {pattern!r}: {exc}") from exc


def search(pattern: Any, text: str) -> Any:
    """``pattern.search`` with a time limit: catastrophic backtracking is an item error."""
    try:
        return pattern.search(text, timeout=REGEX_TIMEOUT_S)
    except TimeoutError as exc:
        raise RewardError(
            ErrorType.TIMEOUT, f"regex {pattern.pattern!r} ran over {REGEX_TIMEOUT_S} s"
        ) from exc
