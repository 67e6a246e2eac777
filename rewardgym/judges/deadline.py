"""The request's deadline, where a reward's helpers can read it without passing it down.

``Reward.score`` sets it for the batch it scores (tasks it starts inherit it); a judge
backend reads ``time_left()`` so that one call never waits, nor retries, past the request's
deadline, and a timeout says which limit it hit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["deadline_scope", "time_left"]

_DEADLINE: ContextVar[float | None] = ContextVar("rewardgym_deadline", default=None)


@contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Within this block (and tasks started in it) the deadline is ``deadline`` (a
    ``time.monotonic()`` value; None: none). A tighter outer deadline stays in force."""
    outer = _DEADLINE.get()
    if outer is not None and (deadline is None or outer < deadline):
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds until the current deadline (never below 0), or None without one."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    return max(deadline - time.monotonic(), 0.0)
