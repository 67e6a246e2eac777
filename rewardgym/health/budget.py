"""The audits' budget: a token bucket per judge, so auditing costs a bounded number of extra
backend calls however much traffic a judge gets."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["AuditBudget"]


class AuditBudget:
    """At most ``per_minute`` audits per key (a judge) per minute, in a burst of at most one:
    over any ``t`` seconds a key gets at most ``1 + t * per_minute / 60``. 0: none ever."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._tokens: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> bool:
        """Spend one of ``key``'s tokens if it has one (it refills at ``per_minute``)."""
        if self.per_minute <= 0:
            return False
        now = self._clock()
        tokens, last = self._tokens.get(key, (1.0, now))
        tokens = min(1.0, tokens + (now - last) * self.per_minute / 60.0)
        if tokens < 1.0:
            self._tokens[key] = (tokens, now)
            return False
        self._tokens[key] = (tokens - 1.0, now)
        return True
