"""The reward contract: ``async score(items, ctx) -> list[Result]``, one per item, in order."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rewardgym.errors import ConfigError, RewardError, UnsupportedOperationError
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
    from rewardgym.registry import RewardRegistry

__all__ = [
    "NoParams",
    "Params",
    "Reward",
    "ScoreContext",
    "SyncRule",
    "error_result",
    "text_of",
]

log = logging.getLogger(__name__)


class Params(BaseModel):
    """Base of every reward's parameter model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    """For rewards without parameters."""


@dataclass
class ScoreContext:
    """What a reward may know about the request it serves.

    ``deadline`` is an absolute ``time.monotonic()`` value (or None for no deadline).
    """

    deadline: float | None = None

    def remaining(self) -> float | None:
        """Seconds left before the deadline, or None."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)


def error_result(type: ErrorType | str, message: str, *, retryable: bool = False) -> Result:
    """A Result that carries no reward and says why."""
    return Result(error=Error(type=ErrorType(type), message=message, retryable=retryable))


def text_of(value: Any) -> str:
    """The text of a response or prompt: a string, or the last message's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        last = value[-1]
        return str(getattr(last, "content", last))
    return "" if value is None else str(value)


class Reward(ABC):
    """A reward type. Subclasses set ``type_id``, ``taxonomy`` and ``Params``, and score items.

    Override ``score_one`` (one item at a time, run concurrently) or ``score_batch`` (the whole
    batch at once). Either may raise ``RewardError`` for an item: it becomes that item's error.
    """

    type_id: ClassVar[str]
    taxonomy: Taxonomy
    Params: ClassVar[type[Params]] = NoParams
    description: ClassVar[str] = ""

    def __init__(self, spec: RewardSpec, registry: RewardRegistry) -> None:
        self.spec = spec
        self.name = spec.name or spec.type
        self.registry = registry
        try:
            self.params: Any = self.Params.model_validate(spec.params)
        except ValidationError as exc:
            raise ConfigError(
                f"invalid params for reward {self.name!r} (type {spec.type!r})",
                errors=_validation_errors(exc),
                allowed=sorted(self.Params.model_fields),
            ) from exc

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Warm up (start pools, load models). Called once before serving; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` or scoring acquired."""

    async def score(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        """Score a batch; one Result per item, in order. Never raises for one bad item."""
        started = time.perf_counter()
        results = await self.score_batch(items, ctx)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        for result in results:
            if result.latency_ms == 0.0:
                result.latency_ms = elapsed_ms
            if result.score is not None and not math.isfinite(result.score):
                result.error = Error(
                    type=ErrorType.INTERNAL, message=f"reward produced score {result.score}"
                )
                result.score = None
            self.stamp(result)
        return results

    def stamp(self, result: Result) -> Result:
        """Fill the reward's name and taxonomy into a result."""
        result.reward = self.name
        result.taxonomy = self.taxonomy
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


class SyncRule(Reward):
    """A cheap rule computed in process: implement ``compute(item) -> Result | float``.

    Large batches run in a thread so the event loop keeps serving.
    """

    inline_chars: ClassVar[int] = 200_000

    @abstractmethod
    def compute(self, item: Item) -> Result | float:
        """The reward of one item (raise ``RewardError`` for a bad item)."""

    def _compute_all(self, items: Sequence[Item]) -> list[Result]:
        results = []
        for item in items:
            started = time.perf_counter()
            result = _run_one(self.compute, item)
            result.latency_ms = (time.perf_counter() - started) * 1000.0
            results.append(result)
        return results

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        size = sum(len(text_of(item.response)) for item in items)
        if size <= self.inline_chars:
            return self._compute_all(items)
        remaining = ctx.remaining()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._compute_all, items), timeout=remaining
            )
        except TimeoutError:
            return [_timeout_result(remaining) for _ in items]


def _run_one(fn: Callable[[Item], Result | float], item: Item) -> Result:
    try:
        value = fn(item)
    except RewardError as exc:
        return Result(error=exc.error)
    except Exception as exc:
        log.exception("reward raised on one item")
        return error_result(ErrorType.INTERNAL, f"{type(exc).__name__}: {exc}")
    return value if isinstance(value, Result) else Result(score=float(value))


def _timeout_result(seconds: float | None) -> Result:
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
        task.result() if task.done() and not task.cancelled() else _timeout_result(remaining)
        for task in tasks
    ]


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False)
    ]
