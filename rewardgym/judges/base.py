"""The reward contract: ``async score(items, ctx) -> list[Result]``, one per item, in order."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import ValidationError

from rewardgym.errors import ConfigError, RewardError, UnsupportedOperationError
from rewardgym.jsonwalk import iter_json
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
    "SyncRule",
    "conversation_of",
    "error_result",
    "reference_texts",
    "text_of",
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


def conversation_of(value: Any) -> str:
    """A prompt as a judge reads it: a string, or every message of a chat, each under its
    role (a multi-turn prompt's earlier turns are part of what the response answers)."""
    if isinstance(value, list) and len(value) > 1:
        return "\n\n".join(
            f"{getattr(m, 'role', 'user')}: {getattr(m, 'content', m)}" for m in value
        )
    return text_of(value)


def text_of(value: Any) -> str:
    """The text of a response or prompt: a string, or the last message's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        last = value[-1]
        return str(getattr(last, "content", last))
    return "" if value is None else str(value)


def _reference_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return None


def reference_texts(reference: Any, reward: str, *, many: bool = True) -> list[str]:
    """A reference as text: a string or a number (or, with ``many``, a non-empty list of them).
    Anything else (objects, nested lists, booleans) is an ``invalid_input`` error naming the
    type: a reference is never turned into text by ``str()`` and scored silently."""
    values = reference if many and isinstance(reference, list) else [reference]
    texts = [_reference_text(v) for v in values]
    if not values or any(t is None for t in texts):
        allowed = "a string or a number" + (", or a non-empty list of them" if many else "")
        raise RewardError(
            ErrorType.INVALID_INPUT,
            f"{reward}'s reference must be {allowed}; got {_type_name(reference)}",
        )
    return [t for t in texts if t is not None]


def _type_name(value: Any, *, outer: bool = True) -> str:
    names = {dict: "an object", bool: "a boolean", type(None): "null", list: "a list"}
    if isinstance(value, list) and outer:
        inner = sorted({_type_name(v, outer=False) for v in value[:20]})
        return f"a list of {', '.join(inner)}" if inner else "an empty list"
    return names.get(type(value), type(value).__name__)


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


class SyncRule(Reward):
    """A cheap rule computed in process: implement ``compute(item) -> Result | float``.

    A batch whose cost (the items' response and reference text, plus the params' text once per
    item: fixed references and tags are checked against every item) is within
    ``inline_budget()`` is computed on the event loop: rules are linear in that, so it costs at
    most a few milliseconds. Costlier batches run in a killable worker process under the
    request's deadline (killed and replaced past it), so no rule work blocks the server or
    outlives its request. Rules whose cost grows faster than their input (edit distances,
    ROUGE-L, JSON Schema) set a smaller budget.
    """

    inline_chars: ClassVar[int] = 200_000
    worker_target: ClassVar[str] = "rewardgym.judges.rules.rule_worker:compute_batch"
    default_deadline_s: ClassVar[float] = 300.0

    @abstractmethod
    def compute(self, item: Item) -> Result | float:
        """The reward of one item (raise ``RewardError`` for a bad item)."""

    def inline_budget(self) -> int:
        """The cost a batch may have to be computed on the event loop (0: never)."""
        return self.inline_chars

    @cached_property
    def _params_chars(self) -> int:
        return _rough_len(self.spec.params)

    def _cost(self, items: Sequence[Item], budget: int) -> int:
        return _text_size(items, budget) + self._params_chars * len(items)

    def compute_all(self, items: Sequence[Item]) -> list[Result]:
        """``compute`` for every item, each failure on its own item."""
        results = []
        for item in items:
            started = time.perf_counter()
            result = _run_one(self.compute, item)
            result.latency_ms = (time.perf_counter() - started) * 1000.0
            results.append(result)
        return results

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        budget = self.inline_budget()
        if budget > 0 and self._cost(items, budget) <= budget:
            return self.compute_all(items)
        from rewardgym.judges.runtime.pool import WorkerCrashedError, WorkerError, shared_pool

        remaining = ctx.remaining()
        timeout = self.default_deadline_s if remaining is None else remaining
        if ctx.worker_timeout_s is not None:
            timeout = min(timeout, ctx.worker_timeout_s)
        # Plain tuples both ways: the batch is large, and every millisecond spent converting it
        # here is a millisecond the event loop serves no one.
        payload = [
            (item.prompt, item.response, item.reference, item.steps, item.metadata)
            for item in items
        ]
        try:
            raw = await shared_pool(self.worker_target).run(
                (self.spec.type, self.spec.params, payload), timeout
            )
        except TimeoutError:
            return [_timeout_result(timeout) for _ in items]
        except WorkerCrashedError as exc:
            failed = error_result(ErrorType.WORKER_CRASHED, str(exc), retryable=True)
            return [failed.model_copy(deep=True) for _ in items]
        except (WorkerError, RecursionError, ValueError) as exc:  # incl. a value too deep to send
            failed = error_result(ErrorType.INVALID_INPUT, f"the batch could not be scored: {exc}")
            return [failed.model_copy(deep=True) for _ in items]
        return [result_from_tuple(r) for r in raw]


def result_to_tuple(result: Result) -> tuple[Any, ...]:
    """A rule's Result as plain data (what a rule worker sends back)."""
    error = result.error
    return (
        result.score,
        result.scores,
        result.metadata,
        None if error is None else (error.type.value, error.message, error.retryable),
        result.latency_ms,
    )


def result_from_tuple(data: tuple[Any, ...]) -> Result:
    """The Result ``result_to_tuple`` made (pydantic-core builds it: faster than Python)."""
    score, scores, metadata, error, latency_ms = data
    fields: dict[str, Any] = {"score": score, "latency_ms": latency_ms}
    if scores:
        fields["scores"] = scores
    if metadata:
        fields["metadata"] = metadata
    if error is not None:
        fields["error"] = {"type": error[0], "message": error[1], "retryable": error[2]}
    return Result.model_validate(fields)


def _text_size(items: Sequence[Item], stop_after: int) -> int:
    """Characters of response and reference text in a batch (counting stops past the budget)."""
    size = 0
    for item in items:
        size += len(text_of(item.response))
        ref = item.reference
        if isinstance(ref, str):
            size += len(ref)
        elif ref is not None:
            size += _rough_len(ref)
        if size > stop_after:
            break
    return size


def _rough_len(value: Any) -> int:
    """The length of the strings in a JSON-like value (iteratively: values may nest deeply)."""
    total = 0
    for current, _ in iter_json(value):
        if isinstance(current, str | dict | list | tuple):
            total += len(current)
        else:
            total += 8
    return total


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
