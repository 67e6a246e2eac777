"""What a failed item becomes: one policy, one function, for the service and every adapter.

A policy (``OnError`` in the schema) is one of:

- ``"null"``: no reward. The score stays null and the error stays on the item; a slot that
  must hold a float (a Gymnasium reward, verl's score) gets NaN, TRL's gets None.
- a finite number: that reward; the error stays on the item (and is counted).
- ``"raise"``: the request (or the episode) fails with ``ItemFailedError``, which names the
  item and carries its error.

Python callers (``as_policy``: the adapters' arguments) may also write ``None`` or ``"nan"`` for
``"null"``; the wire takes only ``"null"``, ``"raise"`` or a number.
Every front (HTTP, gRPC, the OpenRLHF, slime and NeMo Gym routes) and every adapter
(environments, TRL, verl, composition) calls ``value_of``; none re-implements it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, overload

from rewardgym.errors import InvalidRequestError, ItemFailedError
from rewardgym.schema import Error, ErrorType, OnError, Result

__all__ = [
    "FAILURE_KINDS",
    "apply_on_error",
    "as_policy",
    "failed",
    "failure_kind",
    "is_fixed",
    "value_of",
]

FAILURE_KINDS = ("timeout", "reward_error")
"""What ``failure_kind`` answers; environments' ``info["stop"]`` for an episode ended by a
failed reward."""


def failed(result: Result) -> bool:
    """True when the item has no reward: an error, or no score."""
    return result.error is not None or result.score is None


def failure_kind(result: Result) -> Literal["timeout", "reward_error"] | None:
    """Why an item has no reward (``timeout`` or ``reward_error``), or None when it has one.
    Environments end an episode with this as ``info["stop"]``."""
    if not failed(result):
        return None
    if result.error is not None and result.error.type == ErrorType.TIMEOUT:
        return "timeout"
    return "reward_error"


def as_policy(value: OnError | str | float | None) -> OnError:
    """A policy from what a caller wrote: ``None``/``"nan"``/``"null"``, ``"raise"`` or a
    finite number; anything else is a clear error."""
    if value is None or value in ("null", "nan"):
        return "null"
    if value == "raise":
        return "raise"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise InvalidRequestError(
        f"on_error must be null, 'raise' or a finite number; got {value!r}",
        allowed=["null", "raise", "a finite number"],
    )


def is_fixed(policy: OnError | None) -> bool:
    """True when the policy gives a failed item a fixed reward."""
    return isinstance(policy, int | float) and not isinstance(policy, bool)


@overload
def value_of(
    result: Result, policy: OnError | str | float | None, *, index: int = 0, missing: float
) -> float: ...
@overload
def value_of(
    result: Result, policy: OnError | str | float | None, *, index: int = 0, missing: None = None
) -> float | None: ...
def value_of(
    result: Result,
    policy: OnError | str | float | None,
    *,
    index: int = 0,
    missing: float | None = None,
) -> float | None:
    """The reward of one item under the policy: its score when it has one; else ``missing``
    (for ``"null"``), the fixed number, or ``ItemFailedError`` (for ``"raise"``; ``index``
    names the item)."""
    if not failed(result):
        return float(result.score)  # type: ignore[arg-type]
    rule = as_policy(policy)
    if rule == "raise":
        error = result.error or Error(type=ErrorType.INTERNAL, message="the reward gave no score")
        raise ItemFailedError(index, error)
    return missing if rule == "null" else float(rule)


def apply_on_error(results: Sequence[Result], policy: OnError) -> list[Result]:
    """Every result with the score the policy gives it (errors stay on their items);
    ``"raise"`` fails the whole batch at its first failed item."""
    out = list(results)
    for index, result in enumerate(out):
        if failed(result):
            if result.error is None:  # no score and no reason: never a silent null
                result.error = Error(type=ErrorType.INTERNAL, message="the reward gave no score")
            result.score = value_of(result, policy, index=index)
    return out
