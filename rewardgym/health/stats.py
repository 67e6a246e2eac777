"""Reward-health statistics over a window of one reward's recent results.

A reward that drifts, saturates or pays for length is being gamed or has stopped measuring
anything; these numbers say so while training runs:

- drift: the population stability index (PSI) and the two-sample Kolmogorov-Smirnov
  statistic between a baseline window (the first results seen) and the current one;
- saturation: the share of current scores at the window's maximum and at its minimum;
- length bias: Spearman's rank correlation of score with response length;
- failures: the share of failed items, by error type.

Pure Python on windows of a few thousand values: cheap enough to compute on every scrape.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["HealthSummary", "RewardWindow", "ks_statistic", "psi", "spearman"]

_EPSILON = 1e-4  # an empty bin's share in PSI (the usual smoothing)


def psi(expected: Sequence[float], actual: Sequence[float], bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``: the sum over ``bins``
    equal-width bins (over both samples' range) of (a - e) * ln(a / e), shares smoothed so an
    empty bin counts as ``1e-4``. 0 for the same distribution; above 0.25 is the usual "has
    shifted" line. NaN when either sample is empty."""
    if not expected or not actual:
        return math.nan
    low = min(min(expected), min(actual))
    high = max(max(expected), max(actual))
    if high == low:
        return 0.0
    width = (high - low) / bins

    def shares(values: Sequence[float]) -> list[float]:
        counts = [0] * bins
        for v in values:
            counts[min(int((v - low) / width), bins - 1)] += 1
        return [max(c / len(values), _EPSILON) for c in counts]

    e, a = shares(expected), shares(actual)
    return sum((ai - ei) * math.log(ai / ei) for ei, ai in zip(e, a, strict=True))


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical
    distribution functions (0: the same; 1: no overlap). NaN when either is empty."""
    if not a or not b:
        return math.nan
    xs, ys = sorted(a), sorted(b)
    gap = 0.0
    for v in set(xs) | set(ys):
        fa = bisect.bisect_right(xs, v) / len(xs)
        fb = bisect.bisect_right(ys, v) / len(ys)
        gap = max(gap, abs(fa - fb))
    return gap


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties given their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (ties averaged); NaN when fewer than
    three pairs or either side is constant."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} values against {len(y)}")
    if len(x) < 3:
        return math.nan
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return math.nan
    return cov / math.sqrt(vx * vy)


@dataclass(frozen=True)
class HealthSummary:
    """One reward's health over its current window (NaN where there is too little data)."""

    items: int
    scored: int
    mean: float
    share_at_max: float
    share_at_min: float
    drift_psi: float
    drift_ks: float
    length_correlation: float
    failed_share: float
    failures: dict[str, float] = field(default_factory=dict)
    histogram: dict[str, list[float]] = field(default_factory=dict)
    """``edges`` (``HISTOGRAM_BINS`` + 1, over the scores seen) and the ``baseline`` and
    ``recent`` counts in those bins (for plots of the distribution as it moves)."""
    length_sample: list[tuple[int, float]] = field(default_factory=list)
    """Up to ``LENGTH_SAMPLE`` recent (response length, score) pairs, evenly spaced."""


HISTOGRAM_BINS = 10
LENGTH_SAMPLE = 200


def histogram(baseline: list[float], recent: list[float]) -> dict[str, list[float]]:
    """Both distributions counted in the same ``HISTOGRAM_BINS`` bins."""
    both = baseline + recent
    if not both:
        return {}
    low, high = min(both), max(both)
    if high == low:  # one value: a bin centred on it
        low, high = low - 0.5, high + 0.5
    width = (high - low) / HISTOGRAM_BINS
    edges = [low + i * width for i in range(HISTOGRAM_BINS)] + [high]

    def counts(values: list[float]) -> list[float]:
        out = [0.0] * HISTOGRAM_BINS
        for v in values:
            out[min(int((v - low) / width), HISTOGRAM_BINS - 1)] += 1
        return out

    return {"edges": edges, "baseline": counts(baseline), "recent": counts(recent)}


class RewardWindow:
    """The recent results of one reward: the first ``baseline`` scores seen (the reference
    for drift) and the last ``size`` results (scores with response lengths, and failures).

    ``add`` costs O(1); ``summary`` sorts the windows (a few milliseconds for thousands).
    """

    def __init__(self, size: int = 2000, baseline: int = 2000) -> None:
        self.size = size
        self.baseline_size = baseline
        self.baseline: list[float] = []
        self._recent: deque[tuple[float | None, int, str | None]] = deque(maxlen=size)
        self.items = 0

    def add(self, score: float | None, length: int, error: str | None = None) -> None:
        """One result: its score (None when it failed), its response's length in characters,
        and its error type when it failed."""
        self.items += 1
        if score is not None and math.isfinite(score):
            if len(self.baseline) < self.baseline_size:
                self.baseline.append(score)
        else:
            score = None
        self._recent.append((score, length, error if score is None else None))

    def extend(
        self, scores: list[float | None], lengths: list[int], errors: list[str | None]
    ) -> None:
        """``add`` for many results at once."""
        self.items += len(scores)
        clean = [s if s is not None and math.isfinite(s) else None for s in scores]
        room = self.baseline_size - len(self.baseline)
        if room > 0:
            self.baseline.extend([s for s in clean if s is not None][:room])
        self._recent.extend(
            (s, n, e if s is None else None) for s, n, e in zip(clean, lengths, errors, strict=True)
        )

    def summary(self) -> HealthSummary:
        recent = list(self._recent)
        scores = [s for s, _, _ in recent if s is not None]
        lengths = [n for s, n, _ in recent if s is not None]
        failed = Counter(e or "unknown" for s, _, e in recent if s is None)
        n = len(recent)
        top, bottom = (max(scores), min(scores)) if scores else (math.nan, math.nan)
        at_max = sum(s == top for s in scores) / len(scores) if scores else math.nan
        at_min = sum(s == bottom for s in scores) / len(scores) if scores else math.nan
        return HealthSummary(
            items=self.items,
            scored=len(scores),
            mean=sum(scores) / len(scores) if scores else math.nan,
            share_at_max=at_max,
            share_at_min=at_min,
            drift_psi=psi(self.baseline, scores),
            drift_ks=ks_statistic(self.baseline, scores),
            length_correlation=spearman(lengths, scores),
            failed_share=sum(failed.values()) / n if n else math.nan,
            failures={kind: count / n for kind, count in sorted(failed.items())},
            histogram=histogram(self.baseline, scores),
            length_sample=[
                (lengths[i], scores[i])
                for i in range(0, len(scores), max(1, len(scores) // LENGTH_SAMPLE))
            ][:LENGTH_SAMPLE],
        )
