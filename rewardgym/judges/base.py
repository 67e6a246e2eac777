"""The reward contract: ``async score(items, ctx) -> list[Result]``, one per item, in order.

Rules computed in process subclass ``sync_rule.SyncRule``; the text a reward reads is in ``texts``.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import logging
import math
import time
from abc import ABC
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import ValidationError

from rewardgym.errors import ConfigError, RewardError, UnsupportedOperationError
from rewardgym.judges.deadline import deadline_scope
from rewardgym.judges.params import NoParams, Params
from rewardgym.schema import (
    CompareItem,
    Error,
    ErrorType,
    Item,
    Result,
    RewardSpec,
    Taxonomy,
)

if TYPE_CHECKING:
    from rewardgym.judges.backends.factory import BackendParams

__all__ = [
    "NoParams",
    "Params",
    "Resolver",
    "Reward",
    "ScoreContext",
    "error_result",
    "gather_items",
    "timeout_result",
]

log = logging.getLogger(__name__)


@dataclass
class ScoreContext:
    """What a reward may know about the request it serves.

    ``deadline`` is an absolute ``time.monotonic()`` value (or None for no deadline).
    """

    deadline: float | None = None
    worker_timeout_s: float | None = None
    """At most this long for one call in a worker process (the server's rule-batch bound)."""

    def remaining(self) -> float | None:
        """Seconds left before the deadline, or None."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)


def error_result(type: ErrorType | str, message: str, *, retryable: bool = False) -> Result:
    """A Result that carries no reward and says why."""
    return Result(error=Error(type=ErrorType(type), message=message, retryable=retryable))


class Resolver(Protocol):
    """What a reward may ask of the set it belongs to: another reward by name or spec (for
    composites) and a judge backend the config names. The registry is one; a reward never
    sees more of it."""

    def resolve(self, ref: str | RewardSpec) -> Reward: ...

    def backend_params(self, name: str) -> BackendParams: ...


_STAMPED = frozenset({"reward", "taxonomy", "latency_ms"})


class Reward(ABC):
    """A reward type. Subclasses set ``type_id``, ``taxonomy`` and ``Params``, and score items.

    Override ``score_one`` (one item at a time, run concurrently) or ``score_batch`` (the whole
    batch at once). Either may raise ``RewardError`` for an item: it becomes that item's error.
    """

    type_id: ClassVar[str]
    taxonomy: Taxonomy
    Params: ClassVar[type[Params]] = NoParams
    description: ClassVar[str] = ""
    version: ClassVar[int] = 1
    """Raised when the type's scoring changes: part of every result's ledger address."""
    libraries: ClassVar[tuple[str, ...]] = ()
    """Distributions whose version can change the type's results (``math-verify``)."""

    def __init__(self, spec: RewardSpec, resolver: Resolver | None = None) -> None:
        self.spec = spec
        self.name = spec.name or spec.type
        self.label = self.name  # in metrics; inline rewards get "inline:TYPE" (bounded)
        self.warm = False  # start() has run (the service warms each reward once)
        self._resolver = resolver
        try:
            self.params: Any = self.Params.model_validate(spec.params)
        except ValidationError as exc:
            raise ConfigError(
                f"invalid params for reward {self.name!r} (type {spec.type!r})",
                errors=_validation_errors(exc),
                allowed=sorted(self.Params.model_fields),
            ) from exc

    def implementation(self) -> dict[str, Any]:
        """What decides this reward's results besides the item (its ledger address hashes
        it): type, version, params and the versions of its ``libraries``. Subclasses add
        what else they read (a judge its backend and templates, a composite its parts)."""
        return {
            "type": self.type_id,
            "version": self.version,
            "params": self.params.model_dump(mode="json", exclude=set(self.Params.NOT_SCORING)),
            "libraries": {name: _distribution_version(name) for name in self.libraries},
        }

    @property
    def resolver(self) -> Resolver:
        """The rewards and backends this reward may refer to (set when built by a registry)."""
        if self._resolver is None:
            raise ConfigError(f"reward {self.name!r} refers to others but was built alone")
        return self._resolver

    @classmethod  # noqa: B027 - optional hook
    def warm_imports(cls) -> None:
        """Import what the type imports lazily on first use (cheap ones only: no models). The
        server calls it for every type before it is ready, off the event loop."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Warm up (start pools, load models). Called once before serving; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` or scoring acquired."""

    async def score(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        """Score a batch; one Result per item, in order. Never raises for one bad item."""
        started = time.perf_counter()
        with deadline_scope(ctx.deadline):  # judges' backends read the time left
            results = await self.score_batch(items, ctx)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        for result in results:
            # Straight into the fields: pydantic's __setattr__ costs microseconds a field, which
            # for a batch of 10,000 results is tens of milliseconds of a blocked event loop.
            fields = result.__dict__
            if fields["latency_ms"] == 0.0:
                fields["latency_ms"] = elapsed_ms
            score = fields["score"]
            if score is not None and not math.isfinite(score):
                fields["error"] = Error(
                    type=ErrorType.INTERNAL, message=f"reward produced score {score}"
                )
                fields["score"] = None
            self.stamp(result)
        return results

    def stamp(self, result: Result) -> Result:
        """Fill the reward's name and taxonomy into a result."""
        fields = result.__dict__
        fields["reward"] = self.name
        fields["taxonomy"] = self.taxonomy
        result.__pydantic_fields_set__.update(_STAMPED)
        return result

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        """Default: ``score_one`` for every item concurrently, each under the request deadline."""
        return await gather_items(items, lambda item: self.score_one(item, ctx), ctx)

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        """Score one item (override this or ``score_batch``)."""
        raise NotImplementedError

    async def compare(self, items: Sequence[CompareItem], ctx: ScoreContext) -> list[Result]:
        """Rank responses; only preference rewards implement it."""
        raise UnsupportedOperationError(
            f"reward {self.name!r} (type {self.type_id!r}) scores items; it does not compare "
            "(use a preference reward: pairwise, listwise, or a reward model)"
        )


@functools.cache
def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def timeout_result(seconds: float | None) -> Result:
    """A Result for an item not scored within the request deadline (retryable)."""
    return error_result(
        ErrorType.TIMEOUT,
        f"not scored within the request deadline ({seconds or 0:.2f} s)",
        retryable=True,
    )


async def gather_items(
    items: Sequence[Any], run: Callable[[Any], Awaitable[Result]], ctx: ScoreContext
) -> list[Result]:
    """Run ``run(item)`` for all items at once; items unfinished at the deadline time out."""

    async def one(item: Any) -> Result:
        started = time.perf_counter()
        try:
            result = await run(item)
        except RewardError as exc:
            result = Result(error=exc.error)
        except Exception as exc:
            log.exception("reward raised on one item")
            result = error_result(ErrorType.INTERNAL, f"{type(exc).__name__}: {exc}")
        if result.latency_ms == 0.0:
            result.latency_ms = (time.perf_counter() - started) * 1000.0
        return result

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    remaining = ctx.remaining()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
    return [
        task.result() if task.done() and not task.cancelled() else timeout_result(remaining)
        for task in tasks
    ]


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False)
    ]
