"""Audits of LLM judges beside real traffic, within one budget per judge (``AuditBudget``):

- canary: a known-bad reply on a real item's prompt; the share passed is the judge's live
  false-pass rate;
- re-judge: a real item judged again with its inputs permuted (a pointwise rubric's levels
  listed in another order, a listwise judge's candidates shown in other orders); the share
  whose verdict agrees (the same score within ``SCORE_TOLERANCE``; the same top choice);
- shadow: a real item with a reference, checked by the rule the judge names (``shadow``); the
  share where rule and judge disagree on pass or fail.

After each call the judge gets at most one audit if its budget has a token; the kinds take
turns among those the call allows. Audits run in the background: the caller's call neither
waits for them nor sees them, and one that fails is just not counted. Judging is done by
callables the service passes in (this package knows no judges).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Literal

from rewardgym.health.budget import AuditBudget
from rewardgym.health.canaries import CANARY_REPLIES, canary_item
from rewardgym.health.tally import Tally
from rewardgym.health.verdicts import passes, scores_agree, top_choice
from rewardgym.schema import CompareItem, Item, Result

__all__ = ["KINDS", "PERMUTATIONS", "Audits", "Judge", "Rejudge"]

log = logging.getLogger(__name__)

Kind = Literal["canary", "rejudge", "shadow"]
KINDS: tuple[Kind, ...] = ("canary", "rejudge", "shadow")
"""The audits, in the order they take turns."""

PERMUTATIONS = 4
"""Distinct permuted forms a judge is re-judged in (seeds 0..3, in turn)."""

Judge = Callable[[Item], Awaitable[Result]]
"""Scores one item (the judge itself, or the rule it is shadowed by)."""
Rejudge = Callable[[Any, int], Awaitable[Result]]
"""Judges one item (``Item`` or ``CompareItem``) again, in permuted form ``seed``."""

_Check = Callable[[], Awaitable[bool | None]]
"""Starts one audit: its outcome, or None (no verdict)."""


class Audits:
    """The audits of every LLM judge of a service, and what they found.

    Args:
        per_minute: audits per judge per minute, all kinds together (0: none).
        window: the last outcomes per judge each share is taken over.
    """

    def __init__(self, per_minute: float, window: int = 500) -> None:
        self.budget = AuditBudget(per_minute)
        self.found: dict[Kind, Tally] = {kind: Tally(window) for kind in KINDS}
        self._turns: dict[str, int] = {}
        self._picks: dict[tuple[str, Kind], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._replies = itertools.cycle(CANARY_REPLIES)

    def _pick(self, reward: str, kind: Kind) -> int:
        """The number of ``reward``'s next audit of ``kind``: which candidate item, and which
        permuted form, is next (they take turns)."""
        n = self._picks.get((reward, kind), 0)
        self._picks[reward, kind] = n + 1
        return n

    def after_score(
        self,
        reward: str,
        items: Sequence[Item],
        results: Sequence[Result],
        judge: Judge,
        rejudge: Rejudge | None = None,
        shadow: Judge | None = None,
    ) -> None:
        """Maybe audit the judge ``reward`` on one item of a call it just scored: a canary,
        a re-judge (``rejudge``: it can), or a shadow check (``shadow``: it names a rule)."""
        if not items or not self.budget.take(reward):
            return
        scored = [
            (item, r.score, "guard" in r.metadata)
            for item, r in zip(items, results, strict=True)
            if r.score is not None and r.error is None
        ]
        # A floored item was never shown to the judge: its re-judge would agree by rule.
        judged = [(item, score) for item, score, floored in scored if not floored]
        referenced = [(item, score) for item, score, _ in scored if item.reference is not None]
        checks: dict[Kind, _Check | None] = {
            "canary": self._canary(items[0], judge),
            "rejudge": self._rejudge(reward, judged, rejudge) if rejudge and judged else None,
            "shadow": self._shadow(reward, referenced, shadow) if shadow and referenced else None,
        }
        self._audit(reward, checks)

    def after_compare(
        self,
        reward: str,
        items: Sequence[CompareItem],
        results: Sequence[Result],
        rejudge: Rejudge | None,
    ) -> None:
        """Maybe have the judge ``reward`` compare one item of a call again, its candidates
        in other orders (``rejudge``), and see whether it picks the same top response."""
        if rejudge is None or not self.budget.take(reward):
            return
        tops = [
            (item, top)
            for item, r in zip(items, results, strict=True)
            if (top := top_choice(r)) is not None
        ]
        if tops:
            self._audit(
                reward,
                {"canary": None, "rejudge": self._recompare(reward, tops, rejudge), "shadow": None},
            )

    def _audit(self, reward: str, checks: dict[Kind, _Check | None]) -> None:
        """Start the next kind in turn that ``checks`` allows (a token has been taken)."""
        allowed = [kind for kind in KINDS if checks[kind] is not None]
        if not allowed:
            return
        turn = self._turns.get(reward, 0)
        kind = min(allowed, key=lambda k: (KINDS.index(k) - turn) % len(KINDS))
        self._turns[reward] = KINDS.index(kind) + 1
        check = checks[kind]
        assert check is not None
        task = asyncio.get_running_loop().create_task(self._run(reward, kind, check))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _canary(self, real: Item, judge: Judge) -> _Check:
        def check() -> Awaitable[bool | None]:
            return self._verdict(judge(canary_item(real, next(self._replies))), passes)

        return check

    def _rejudge(self, reward: str, judged: list[tuple[Item, float]], rejudge: Rejudge) -> _Check:
        def check() -> Awaitable[bool | None]:
            n = self._pick(reward, "rejudge")
            item, score = judged[n % len(judged)]
            return self._verdict(
                rejudge(item, n % PERMUTATIONS), lambda again: scores_agree(score, again)
            )

        return check

    def _recompare(
        self, reward: str, tops: list[tuple[CompareItem, int]], rejudge: Rejudge
    ) -> _Check:
        async def verdict(judged: Awaitable[Result], top: int) -> bool | None:
            again = top_choice(await judged)
            return None if again is None else again == top

        def check() -> Awaitable[bool | None]:
            n = self._pick(reward, "rejudge")
            item, top = tops[n % len(tops)]
            return verdict(rejudge(item, n % PERMUTATIONS), top)

        return check

    def _shadow(self, reward: str, referenced: list[tuple[Item, float]], rule: Judge) -> _Check:
        def check() -> Awaitable[bool | None]:
            item, score = referenced[self._pick(reward, "shadow") % len(referenced)]
            return self._verdict(rule(item), lambda checked: passes(checked) != passes(score))

        return check

    @staticmethod
    async def _verdict(judged: Awaitable[Result], outcome: Callable[[float], bool]) -> bool | None:
        """``outcome`` of the score ``judged`` gets; None when it got none (it failed)."""
        result = await judged
        return None if result.score is None else outcome(result.score)

    async def _run(self, reward: str, kind: Kind, check: _Check) -> None:
        try:
            outcome = await check()
        except Exception as exc:  # an audit never fails anyone; it just has no verdict
            log.warning("%s audit of judge %s failed: %s", kind, reward, str(exc)[:300])
            return
        if outcome is not None:  # None: the judge (or rule) failed on it, no verdict
            self.found[kind].add(reward, outcome)

    def report(self) -> dict[str, dict[str, float | int]]:
        """Per judge audited: ``canary_pass_rate`` and ``canaries`` (judged),
        ``rejudge_agreement`` and ``rejudged``, ``shadow_disagreement`` and ``shadowed``."""
        fields: dict[Kind, tuple[str, str]] = {
            "canary": ("canary_pass_rate", "canaries"),
            "rejudge": ("rejudge_agreement", "rejudged"),
            "shadow": ("shadow_disagreement", "shadowed"),
        }
        out: dict[str, dict[str, float | int]] = {}
        for kind, (share_field, count_field) in fields.items():
            for reward, (share, count) in self.found[kind].shares().items():
                out.setdefault(reward, {}).update({share_field: share, count_field: count})
        return out

    def gauges(self) -> Iterator[tuple[str, dict[str, str], float]]:
        names: dict[Kind, str] = {
            "canary": "rewardgym_judge_canary_pass_rate",
            "rejudge": "rewardgym_judge_rejudge_agreement",
            "shadow": "rewardgym_judge_shadow_disagreement",
        }
        for kind, name in names.items():
            for reward, (share, _) in self.found[kind].shares().items():
                yield name, {"reward": reward}, share

    async def settle(self) -> None:
        """Wait for the audits in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the audits in flight."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
