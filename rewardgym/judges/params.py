"""The base of every reward's parameter model (and of a judge backend's)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["NoParams", "Params"]


class Params(BaseModel):
    """Base of every reward's parameter model: unknown keys are errors, not silently ignored.

    Each model declares which of its parameters an API caller may not set in an inline spec
    (see ``rewardgym.trust``): ``OPERATOR_ONLY`` (touches the host: sandbox, pools, templates,
    backends, model paths, devices), ``AT_MOST_DEFAULT`` (limits a caller may only lower) and
    ``NAMED_ONLY`` (a caller may name one the config defines, not describe a new one).
    """

    model_config = ConfigDict(extra="forbid")

    OPERATOR_ONLY: ClassVar[frozenset[str]] = frozenset()
    AT_MOST_DEFAULT: ClassVar[frozenset[str]] = frozenset()
    NAMED_ONLY: ClassVar[frozenset[str]] = frozenset()
    NOT_SCORING: ClassVar[frozenset[str]] = frozenset()
    """Params that never change a result (pool sizes): left out of ledger addresses."""


class NoParams(Params):
    """For rewards without parameters."""
