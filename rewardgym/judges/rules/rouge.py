"""ROUGE-1, ROUGE-2 and ROUGE-L F1, as Google's ``rouge-score`` computes them without stemming
(its tokens: lower-cased ASCII letters and digits), without that package and the NLTK it pulls
in. ``tests/judges/test_rules.py`` checks the scores equal ``rouge-score``'s."""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["rouge_f1", "tokens"]

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def tokens(text: str) -> list[str]:
    return [t for t in _NOT_ALPHANUMERIC.sub(" ", text.lower()).split() if t]


def _f1(overlap: int, predicted: int, target: int) -> float:
    precision = overlap / max(predicted, 1)
    recall = overlap / max(target, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            above = row[j]
            row[j] = diagonal + 1 if x == y else max(above, row[j - 1])
            diagonal = above
    return row[-1]


def rouge_f1(metric: str, target: str, prediction: str) -> float:
    """``rouge1``, ``rouge2`` or ``rougeL`` F1 of ``prediction`` against ``target``."""
    ref, hyp = tokens(target), tokens(prediction)
    if metric == "rougeL":
        if not ref or not hyp:
            return 0.0
        return _f1(_lcs(ref, hyp), len(hyp), len(ref))
    n = {"rouge1": 1, "rouge2": 2}[metric]
    want, got = _ngrams(ref, n), _ngrams(hyp, n)
    overlap = sum(min(count, got[gram]) for gram, count in want.items())
    return _f1(overlap, sum(got.values()), sum(want.values()))
