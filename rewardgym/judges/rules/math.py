"""``math``: answer equivalence with math-verify, in kill-able worker processes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, error_result
from rewardgym.judges.runtime.chunks import run_chunked
from rewardgym.judges.runtime.pool import KillablePool
from rewardgym.judges.runtime.shared_pools import shared_pool
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["MathParams", "MathReward"]

_TARGET = "rewardgym.judges.rules.math_worker:verify_answer"
_WARMUP = (
    "1",
    "\\boxed{1}",
    {
        "extraction": ["latex", "expr"],
        "boxed_priority": 0,
        "precision": 6,
        "strict": True,
        "allow_set_relation_comp": False,
    },
)


class MathParams(Params):
    extraction: list[Literal["latex", "expr", "string"]] = Field(
        default=["latex", "expr"],
        min_length=1,
        description="what to extract: LaTeX (incl. \\boxed), plain expressions, strings",
    )
    boxed_priority: int = Field(
        default=0, description="priority of \\boxed{} among LaTeX matches (0 = first)"
    )
    precision: int = Field(default=6, ge=0, le=15, description="float rounding digits")
    strict: bool = Field(default=True, description="variables and relations must match exactly")
    allow_set_relation_comp: bool = False
    wrap_gold: bool = Field(default=True, description="retry a gold with no match as $gold$")
    reject_hedges: bool = Field(
        default=True,
        description="a final answer offering alternatives ('2 or 3') scores 0, right or not",
    )
    literal: bool = Field(
        default=False,
        description="the answer must be a number written out: 1234*5678, 2^{100}, 17! or "
        "\\sqrt{1764} score 0 even when they equal the reference (tasks where computing it "
        "is the point: a policy would copy the question's expression)",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=600, description="per item, from dispatch")
    workers: int | None = Field(default=None, gt=0, description="pool size (default: CPUs)")

    OPERATOR_ONLY = frozenset({"workers"})
    AT_MOST_DEFAULT = frozenset({"timeout_s"})
    NOT_SCORING = frozenset({"workers"})  # left out of the ledger address


class MathReward(Reward):
    """1.0 when the response's final answer equals the reference (gold first), else 0.0."""

    type_id = "math"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = MathParams
    description = "Math answer equivalence (math-verify), reference = the gold answer"
    libraries = ("math-verify", "sympy")

    def _pool(self) -> KillablePool:
        return shared_pool(_TARGET, size=self.params.workers, warmup=_WARMUP)

    async def start(self) -> None:
        await self._pool().start()

    def _call(self, item: Item) -> tuple[str, str, dict[str, Any]]:
        """The worker call for one item (a bad reference is that item's error)."""
        if item.reference is None or item.reference == "":
            raise RewardError(ErrorType.INVALID_INPUT, "math needs a reference (the gold answer)")
        gold = reference_texts(item.reference, "math", many=False)[0]
        return (gold, text_of(item.response), self._options)

    @cached_property
    def _options(self) -> dict[str, Any]:
        return self.params.model_dump(exclude={"timeout_s", "workers"})

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        """Items go to the workers in chunks (one round trip per chunk); each keeps its own
        ``timeout_s`` from its start, and none runs past the request's deadline."""
        results: list[Result | None] = [None] * len(items)
        calls: list[tuple[str, str, dict[str, Any]]] = []
        positions: list[int] = []
        for i, item in enumerate(items):
            try:
                calls.append(self._call(item))
                positions.append(i)
            except RewardError as exc:
                results[i] = Result(error=exc.error)
        if calls:
            replies = await run_chunked(self._pool(), calls, self.params.timeout_s, ctx.deadline)
            for i, (call, reply) in zip(positions, zip(calls, replies, strict=True), strict=True):
                results[i] = self._result(call[0], reply, ctx)
        return [r for r in results if r is not None]

    def _result(self, gold: str, reply: tuple[str, Any], ctx: ScoreContext) -> Result:
        status, value = reply
        if status == "timeout":
            limit = self.params.timeout_s
            if ctx.deadline is not None and ctx.remaining() == 0.0:
                return error_result(ErrorType.TIMEOUT, f"math-verify: {value}", retryable=True)
            return error_result(ErrorType.TIMEOUT, f"math-verify took over {limit:.2f} s")
        if status == "crashed":
            return error_result(ErrorType.WORKER_CRASHED, str(value), retryable=True)
        if status == "err":
            kind, message = value
            return error_result(ErrorType.INVALID_INPUT, f"math-verify failed: {kind}: {message}")
        if not value["gold"]:
            return error_result(
                ErrorType.INVALID_INPUT, f"no answer could be read from the reference {gold!r}"
            )
        return Result(
            score=1.0 if value["equal"] else 0.0,
            latency_ms=value.get("seconds", 0.0) * 1000.0,
            metadata={
                "extracted_gold": value["gold"],
                "extracted_answer": value["pred"],
                **({"hedged": True} if value["hedged"] else {}),
                **({"not_literal": True} if value.get("not_literal") else {}),
            },
        )
