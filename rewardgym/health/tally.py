"""A yes/no outcome per audit, kept per judge over a window: the shares the audits report."""

from __future__ import annotations

from collections import deque

__all__ = ["Tally"]


class Tally:
    """The last ``window`` outcomes of each key (a judge)."""

    def __init__(self, window: int = 500) -> None:
        self.window = window
        self._seen: dict[str, deque[bool]] = {}

    def add(self, key: str, outcome: bool) -> None:
        self._seen.setdefault(key, deque(maxlen=self.window)).append(outcome)

    def shares(self) -> dict[str, tuple[float, int]]:
        """Per key: the share of its recent outcomes that were true, and how many there are."""
        return {key: (sum(seen) / len(seen), len(seen)) for key, seen in self._seen.items() if seen}
