"""The service's side of the judge audits (``rewardgym.health.audits``): which rewards are
audited (LLM judges, with audits on; never rules or reward models) and the callables that
judge an audit's item, each on its own deadline (no caller waits for an audit)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rewardgym.health import Audits
from rewardgym.health.audits import Judge, Rejudge
from rewardgym.judges.audited import AuditedJudge
from rewardgym.judges.base import Reward, ScoreContext
from rewardgym.judges.deadline import deadline_scope
from rewardgym.schema import Basis, CompareItem, Item, Result

__all__ = ["JudgeAuditor"]


class JudgeAuditor:
    """Hands each LLM judge's calls to ``audits``, with what an audit needs to judge."""

    def __init__(self, audits: Audits) -> None:
        self.audits = audits

    @staticmethod
    def _audit_context() -> ScoreContext:
        """An audit's own deadline: two minutes (no caller waits for it)."""
        return ScoreContext(deadline=time.monotonic() + 120)

    @classmethod
    def _scorer(cls, reward: Reward) -> Judge:
        """``reward`` scoring one item on its own (for the audits)."""

        async def judge(item: Item) -> Result:
            [result] = await reward.score([item], cls._audit_context())
            return result

        return judge

    @classmethod
    def _rejudge(cls, judge: AuditedJudge, compare: bool) -> Rejudge:
        """``judge`` in permuted form ``seed`` scoring (or comparing) one item on its own."""

        async def again(item: Item | CompareItem, seed: int) -> Result:
            permuted = judge.permuted(seed)
            assert permuted is not None  # the audits ask only judges that permute
            ctx = cls._audit_context()
            if not compare:
                assert isinstance(item, Item)
                [result] = await permuted.score([item], ctx)
                return result
            assert isinstance(item, CompareItem)
            with deadline_scope(ctx.deadline):
                [result] = await permuted.compare([item], ctx)
            return result

        return again

    def _audited(self, reward: Reward) -> AuditedJudge | None:
        """``reward`` when the audits watch it: an LLM judge, with audits on."""
        if self.audits.budget.per_minute <= 0 or reward.taxonomy.basis != Basis.JUDGE:
            return None
        return reward if isinstance(reward, AuditedJudge) else None

    def after_score(self, reward: Reward, items: Sequence[Item], results: list[Result]) -> None:
        """Maybe audit an LLM judge on a call it just scored (``Audits``), in the background;
        rules and reward models are never audited."""
        judge = self._audited(reward)
        if judge is None:
            return
        rejudge = self._rejudge(judge, compare=False) if judge.permuted(0) is not None else None
        rule = judge.shadow_rule()
        shadow = self._scorer(rule) if rule is not None else None
        self.audits.after_score(reward.label, items, results, self._scorer(reward), rejudge, shadow)

    def after_compare(
        self, reward: Reward, items: Sequence[CompareItem], results: list[Result]
    ) -> None:
        """Maybe have an LLM judge that can compare in other orders (listwise) compare one
        item of a call again (``Audits``); pairwise judges both orders on every call."""
        judge = self._audited(reward)
        if judge is not None and judge.permuted(0) is not None:
            rejudge = self._rejudge(judge, compare=True)
            self.audits.after_compare(reward.label, items, results, rejudge)
