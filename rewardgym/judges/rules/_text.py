"""Shared text helpers for rules: normalisation."""

from __future__ import annotations

import unicodedata

import regex

from rewardgym.judges.base import Params

__all__ = ["NormaliseParams", "normalise"]

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
