"""Every reward's health, watched as it scores: a ``RewardWindow`` per reward (and per data
source, when items carry one in ``metadata.data_source``), fed by the service after each
call and read at ``GET /v1/health/rewards`` and by Prometheus."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from rewardgym.health.stats import RewardWindow
from rewardgym.schema import Item, Result

__all__ = ["ALL_SOURCES", "HealthMonitor", "response_length"]

ALL_SOURCES = "*"
"""The source label of a reward's window over all its items."""
OTHER_SOURCE = "other"
"""Where items go once a reward has ``max_sources`` sources (labels stay few)."""


def response_length(item: Item) -> int:
    """Characters of the response (of every message's content, for a conversation)."""
    response = item.response
    if isinstance(response, str):
        return len(response)
    return sum(len(m.content) for m in response)


def _source(item: Item) -> str | None:
    source = item.metadata.get("data_source") if item.metadata else None
    return source[:64] if isinstance(source, str) and source else None


class HealthMonitor:
    """Windows of every reward's recent results (thread-safe).

    Args:
        size: results per window (the current window, and the baseline: the first seen).
        max_sources: data sources tracked per reward; items of further ones count as
            ``other``.
        per_call: results recorded of one call at most (an even sample of larger ones).
    """

    def __init__(self, size: int = 2000, max_sources: int = 16, per_call: int = 256) -> None:
        self.size = size
        self.max_sources = max_sources
        self.per_call = per_call
        self._windows: dict[tuple[str, str], RewardWindow] = {}
        self._sources: dict[str, int] = {}
        self._flips: dict[str, deque[bool]] = {}
        self._lock = threading.Lock()

    def _window(self, reward: str, source: str) -> RewardWindow:
        key = (reward, source)
        window = self._windows.get(key)
        if window is None:
            if source not in (ALL_SOURCES, OTHER_SOURCE):
                if self._sources.get(reward, 0) >= self.max_sources:
                    return self._window(reward, OTHER_SOURCE)
                self._sources[reward] = self._sources.get(reward, 0) + 1
            window = self._windows[key] = RewardWindow(self.size, self.size)
        return window

    def observe(self, reward: str, items: Sequence[Item], results: Sequence[Result]) -> None:
        """Record a scored batch: each result's score (None when it failed), the length of
        its response, its error type, under the reward and the item's data source. Of a
        batch larger than ``per_call``, an even sample of that many is recorded (the
        statistics are of windows of thousands: a sample says the same, for less)."""
        step = max(1, -(-len(items) // self.per_call))
        items, results = items[::step], results[::step]
        scores = [r.score for r in results]
        lengths = [response_length(item) for item in items]
        errors = [r.error.type.value if r.error is not None else None for r in results]
        with self._lock:
            self._window(reward, ALL_SOURCES).extend(scores, lengths, errors)
            if not any(item.metadata for item in items):
                return
            for i, item in enumerate(items):
                source = _source(item)
                if source is not None:
                    self._window(reward, source).add(scores[i], lengths[i], errors[i])

    def observe_preferences(self, reward: str, results: Sequence[Result]) -> None:
        """Record whether each comparison came out the same in every order it was judged
        (pairwise: both; listwise: its permutations): the judge's position bias, live."""
        seen = [
            r.preference.consistent
            for r in results
            if r.preference is not None and r.preference.consistent is not None
        ]
        if seen:
            with self._lock:
                flips = self._flips.setdefault(reward, deque(maxlen=self.size))
                flips.extend(not consistent for consistent in seen)

    def flip_rate(self, reward: str) -> float:
        """Share of recent comparisons whose verdict changed with the order (NaN: none)."""
        with self._lock:
            flips = list(self._flips.get(reward, ()))
        return sum(flips) / len(flips) if flips else math.nan

    def summaries(self, also: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Each window's ``HealthSummary`` as JSON (NaN as null), by reward then source; a
        reward's whole window also has its ``flip_rate`` and ``compared`` when it compares.
        Rewards in ``also`` get a whole window even when it is empty (their audits' place)."""
        with self._lock:
            windows = dict(self._windows)
            compared = {reward: len(flips) for reward, flips in self._flips.items()}
        for reward in [*compared, *also]:
            windows.setdefault((reward, ALL_SOURCES), RewardWindow(self.size, self.size))
        out = []
        for (reward, source), window in sorted(windows.items()):
            summary: dict[str, Any] = {"reward": reward, "source": source} | asdict(
                window.summary()
            )
            if source == ALL_SOURCES and reward in compared:
                summary |= {"compared": compared[reward], "flip_rate": self.flip_rate(reward)}
            out.append({k: _json_number(v) for k, v in summary.items()})
        return out

    def gauges(self) -> Iterator[tuple[str, dict[str, str], float]]:
        """Prometheus gauges of each reward's whole window (one series per reward)."""
        with self._lock:
            windows = [(r, w) for (r, s), w in self._windows.items() if s == ALL_SOURCES]
            comparing = list(self._flips)
        for reward in comparing:
            yield "rewardgym_judge_flip_rate", {"reward": reward}, self.flip_rate(reward)
        for reward, window in windows:
            summary = window.summary()
            labels = {"reward": reward}
            yield "rewardgym_reward_drift_psi", labels, summary.drift_psi
            yield "rewardgym_reward_drift_ks", labels, summary.drift_ks
            yield "rewardgym_reward_share_at_max", labels, summary.share_at_max
            yield "rewardgym_reward_share_at_min", labels, summary.share_at_min
            yield "rewardgym_reward_length_correlation", labels, summary.length_correlation
            yield "rewardgym_reward_failed_share", labels, summary.failed_share


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    return value
