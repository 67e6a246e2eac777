"""``math``: answer equivalence with math-verify, in kill-able worker processes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext
from rewardgym.judges.runtime.pool import KillablePool, WorkerCrashedError, WorkerError
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
    timeout_s: float = Field(default=5.0, gt=0, le=600, description="per item, from dispatch")
    workers: int | None = Field(default=None, gt=0, description="pool size (default: CPUs)")

    OPERATOR_ONLY = frozenset({"workers"})
    AT_MOST_DEFAULT = frozenset({"timeout_s"})


class MathReward(Reward):
    """1.0 when the response's final answer equals the reference (gold first), else 0.0."""

    type_id = "math"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = MathParams
    description = "Math answer equivalence (math-verify), reference = the gold answer"

    def _pool(self) -> KillablePool:
        return shared_pool(_TARGET, size=self.params.workers, warmup=_WARMUP)

    async def start(self) -> None:
        await self._pool().start()

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        if item.reference is None or item.reference == "":
            raise RewardError(ErrorType.INVALID_INPUT, "math needs a reference (the gold answer)")
        gold = reference_texts(item.reference, "math", many=False)[0]
        options = self.params.model_dump(exclude={"timeout_s", "workers"})
        timeout = self.params.timeout_s
        remaining = ctx.remaining()
        if remaining is not None:
            timeout = min(timeout, remaining)
        try:
            out = await self._pool().run((gold, text_of(item.response), options), timeout)
        except TimeoutError as exc:
            raise RewardError(
                ErrorType.TIMEOUT, f"math-verify took over {timeout:.2f} s", retryable=False
            ) from exc
        except WorkerCrashedError as exc:
            raise RewardError(ErrorType.WORKER_CRASHED, str(exc), retryable=True) from exc
        except WorkerError as exc:
            raise RewardError(ErrorType.INVALID_INPUT, f"math-verify failed: {exc}") from exc
        if not out["gold"]:
            raise RewardError(
                ErrorType.INVALID_INPUT, f"no answer could be read from the reference {gold!r}"
            )
        return Result(
            score=1.0 if out["equal"] else 0.0,
            metadata={
                "extracted_gold": out["gold"],
                "extracted_answer": out["pred"],
                **({"hedged": True} if out["hedged"] else {}),
            },
        )
