"""Shared text helpers for rules: normalisation."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import regex

from rewardgym.judges.base import Params

__all__ = ["NormaliseParams", "normalise", "normaliser"]

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


def normaliser(opts: NormaliseParams) -> Callable[[str], str]:
    """``normalise`` with ``opts`` read once: a rule calls it for every item (collapsing
    whitespace also strips, so that step then does both)."""
    nfkc, lower, punctuation = opts.unicode_nfkc, opts.lowercase, opts.remove_punctuation
    collapse, strip = opts.collapse_whitespace, opts.strip
    sub = _PUNCTUATION.sub

    def run(text: str) -> str:
        if nfkc:
            text = unicodedata.normalize("NFKC", text)
        if lower:
            text = text.lower()
        if punctuation:
            text = sub("", text)
        if collapse:
            return " ".join(text.split())
        return text.strip() if strip else text

    return run
