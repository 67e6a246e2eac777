"""Cheap rules computed in process: on the event loop when the batch is small, in a killable
worker process under the request's deadline when it is not."""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from rewardgym.errors import RewardError
from rewardgym.jsonwalk import iter_json
from rewardgym.judges.base import Reward, ScoreContext, error_result, timeout_result
from rewardgym.judges.texts import text_of
from rewardgym.schema import ErrorType, Item, Result
from rewardgym.trusted import trusted_result

__all__ = ["SyncRule", "result_from_tuple", "result_to_tuple"]

log = logging.getLogger(__name__)


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
        compute = self.compute
        clock = time.perf_counter
        for item in items:
            started = clock()
            try:
                value = compute(item)
            except RewardError as exc:
                value = Result(error=exc.error)
            except Exception as exc:
                log.exception("reward raised on one item")
                value = error_result(ErrorType.INTERNAL, f"{type(exc).__name__}: {exc}")
            # A float the rule computed needs no validation (a non-finite one becomes an error
            # in Reward.score).
            result = value if isinstance(value, Result) else trusted_result(float(value))
            # Into the field directly: pydantic's __setattr__ would cost more than the rule.
            result.__dict__["latency_ms"] = (clock() - started) * 1000.0
            results.append(result)
        return results

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        budget = self.inline_budget()
        if budget > 0 and self._cost(items, budget) <= budget:
            return self.compute_all(items)
        from rewardgym.judges.runtime.pool import WorkerCrashedError, WorkerError
        from rewardgym.judges.runtime.shared_pools import shared_pool

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
            return [timeout_result(timeout) for _ in items]
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
