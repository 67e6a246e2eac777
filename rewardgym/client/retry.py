"""What both clients share: when to try again and how long to wait, the call's deadline, and
how a batch is cut into requests.

A client retries only what may succeed on a second try (no connection, 429, 502/503/504,
gRPC UNAVAILABLE or a rate limit), never a request that failed because one of its items
failed. It waits a jittered exponential backoff (at most 10 s), or the server's
``Retry-After`` when that is longer; it stops after ``retries`` more tries or, given
``budget_s``, when the next try would start past that many seconds; and it never waits past
the call's own deadline.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rewardgym.errors import ConfigError
from rewardgym.schema import Item, RewardSpec

__all__ = [
    "DEADLINE_GRACE_S",
    "MAX_BACKOFF_S",
    "RetryPolicy",
    "as_items",
    "as_reward",
    "backoff",
    "call_deadline",
    "chunks",
    "timeout_for",
]

MAX_BACKOFF_S = 10.0
DEADLINE_GRACE_S = 2.0
"""How much longer than a request's ``deadline_s`` a client waits for the answer (the server
stops scoring at the deadline; this is the time the answer needs to come back)."""


def backoff(attempt: int, base: float) -> float:
    """Seconds before try ``attempt + 1``: exponential, capped, with jitter (50-100 %)."""
    return float(min(base * (2 ** min(attempt, 16)), MAX_BACKOFF_S) * (0.5 + random.random() / 2))


def call_deadline(deadline_s: float | None) -> float | None:
    """The ``time.monotonic()`` past which a call with this ``deadline_s`` stops waiting."""
    return None if deadline_s is None else time.monotonic() + deadline_s + DEADLINE_GRACE_S


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` more tries, or as many as fit in ``budget_s`` seconds; backoff from
    ``backoff_s``."""

    retries: int = 3
    backoff_s: float = 0.25
    budget_s: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("backoff_s", self.backoff_s), ("retry_budget_s", self.budget_s)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0; got {value!r}")
        if self.retries < 0:
            raise ConfigError(f"retries must be >= 0; got {self.retries!r}")

    def next_delay(
        self,
        attempt: int,
        started: float,
        *,
        at_least: float = 0.0,
        deadline: float | None = None,
    ) -> float | None:
        """Seconds to wait before the next try, or None when there is no next try
        (``attempt`` counts from 0; ``at_least`` is the server's Retry-After)."""
        delay = max(backoff(attempt, self.backoff_s), at_least)
        now = time.monotonic()
        if deadline is not None and now + delay >= deadline:
            return None
        if self.budget_s is None:
            return delay if attempt < self.retries else None
        return delay if now - started + delay <= self.budget_s else None


def timeout_for(timeout: float, deadline: float | None) -> float:
    """One try's timeout: the client's own, or less when the call's deadline is nearer."""
    if deadline is None:
        return timeout
    return max(min(timeout, deadline - time.monotonic()), 0.001)


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """The batch cut into requests of at most ``size`` items (one empty request for none)."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]


def as_items(items: Iterable[Item | dict[str, Any]]) -> list[Item]:
    """Accept Items or plain dicts."""
    return [i if isinstance(i, Item) else Item.model_validate(i) for i in items]


def as_reward(reward: str | RewardSpec | dict[str, Any]) -> str | RewardSpec:
    """A reward name, or a spec (given as a RewardSpec or a plain dict)."""
    return RewardSpec.model_validate(reward) if isinstance(reward, dict) else reward
