"""What a judge offers its audits (``rewardgym.health.audits``): a sibling that judges the
same items with its inputs permuted, and the rule it can be checked against."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rewardgym.judges.base import Reward

__all__ = ["AuditedJudge"]


@runtime_checkable
class AuditedJudge(Protocol):
    """An LLM judge's audit hooks (``LLMJudge`` has them)."""

    def permuted(self, seed: int) -> Reward | None:
        """This judge with its inputs permuted (form ``seed``: the same seed, the same form),
        its verdicts mapped back to the original order; None when it has nothing to permute."""
        ...

    def shadow_rule(self) -> Reward | None:
        """The rule reward (param ``shadow``) whose verdict on an item with a reference this
        judge's should match; None when it names none."""
        ...
