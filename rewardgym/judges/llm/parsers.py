"""Read a judge's verdict: JSON, "Score: N" text, or the score distribution in log-probabilities."""

from __future__ import annotations

import json
import math
import re

from rewardgym.judges.backends.base import TokenAlternatives

__all__ = [
    "VerdictError",
    "choice_probabilities",
    "expected_score",
    "neutralise",
    "parse_json_score",
    "parse_label",
    "parse_text_score",
]

_SCORE_LINE = re.compile(r"score\**\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_NUMBER_ONLY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*$")
_MARKER = re.compile(r"\[(\s*)(BEGIN|END)(\s+)(QUESTION|REFERENCE|RESPONSE|ANSWER)", re.IGNORECASE)
_LABEL = re.compile(r"\[\[\s*([A-Z])\s*\]\]")


class VerdictError(ValueError):
    """The judge's answer holds no readable score in range."""


def neutralise(text: str) -> str:
    """Defuse look-alikes of the template's data markers inside judged text."""
    return _MARKER.sub(lambda m: f"({m.group(2)} {m.group(4)})", text)


def _in_range(value: float, lo: int, hi: int) -> float:
    if not math.isfinite(value) or not lo <= value <= hi:
        raise VerdictError(f"score {value} is outside {lo}..{hi}")
    return value


def parse_json_score(text: str, lo: int, hi: int) -> tuple[float, str | None]:
    """``{"critique": ..., "score": N}`` (the first JSON object in the text)."""
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        raise VerdictError("no JSON object in the verdict")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise VerdictError(f"verdict is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "score" not in data:
        raise VerdictError("verdict JSON has no score")
    try:
        score = float(data["score"])
    except (TypeError, ValueError) as exc:
        raise VerdictError(f"score {data['score']!r} is not a number") from exc
    critique = data.get("critique")
    return _in_range(score, lo, hi), str(critique) if critique is not None else None


def parse_text_score(text: str, lo: int, hi: int) -> tuple[float, str | None]:
    """The last "Score: N" line, or a verdict that is a bare number; the rest is the critique."""
    matches = list(_SCORE_LINE.finditer(text))
    if matches:
        last = matches[-1]
        critique = text[: last.start()].strip() or None
        return _in_range(float(last.group(1)), lo, hi), critique
    bare = _NUMBER_ONLY.match(text)
    if bare:
        return _in_range(float(bare.group(1)), lo, hi), None
    raise VerdictError("no 'Score: N' in the verdict")


def expected_score(
    alternatives: TokenAlternatives, lo: int, hi: int
) -> tuple[float, dict[int, float]]:
    """G-Eval: sum of p(s) * s over the score tokens among the top alternatives of the first
    generated token, with p renormalised over those tokens. Returns (expectation, p per score).

    Scores that are not a single token (10 on some tokenizers) can only enter through a token
    that spells them whole.
    """
    weights: dict[int, float] = {}
    for token, logprob in alternatives:
        stripped = token.strip()
        if stripped.lstrip("-").isdigit():
            score = int(stripped)
            if lo <= score <= hi and math.isfinite(logprob):
                weights[score] = weights.get(score, 0.0) + math.exp(logprob)
    total = sum(weights.values())
    if total <= 0:
        raise VerdictError("no score token among the top log-probabilities")
    probs = {s: w / total for s, w in sorted(weights.items())}
    return sum(s * p for s, p in probs.items()), probs


def parse_label(text: str, labels: tuple[str, ...]) -> str:
    """The last ``[[X]]`` verdict, or a verdict that is the bare label."""
    found = [m.group(1) for m in _LABEL.finditer(text) if m.group(1) in labels]
    if found:
        return found[-1]
    bare = text.strip().strip(".").upper()
    if bare in labels:
        return bare
    raise VerdictError(f"no verdict among {['[[' + x + ']]' for x in labels]}")


def choice_probabilities(
    alternatives: TokenAlternatives, labels: tuple[str, ...]
) -> dict[str, float]:
    """p(label) from the first token's top alternatives, renormalised over the labels."""
    weights = dict.fromkeys(labels, 0.0)
    for token, logprob in alternatives:
        label = token.strip().upper()
        if label in weights and math.isfinite(logprob):
            weights[label] += math.exp(logprob)
    total = sum(weights.values())
    if total <= 0:
        raise VerdictError(f"none of {list(labels)} among the top log-probabilities")
    return {label: w / total for label, w in weights.items()}
