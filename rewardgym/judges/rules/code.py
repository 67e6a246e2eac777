"""``code``: run a Python completion against its tests in the bubblewrap sandbox.

Tests come from the item (see ``code_harness``: HumanEval ``check``, assert statements, or
stdin/stdout cases). Score = the share of tests passed, or 1/0 with ``all_or_nothing``; each
test's outcome is a step (label ``pass``/``fail``); capped stdout/stderr excerpts, the exit
status and whether a limit was hit go to metadata. Runs go through a bounded pool (``workers``
at a time, each slot its own unprivileged user), so a training batch cannot start thousands of
processes. A program that hangs, forks without end or floods its output is a failed test, not
a failed request. Without bubblewrap the reward does not start (``config_error``); only
``sandbox: none`` runs code unsandboxed, for trusted code, with a warning every start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext
from rewardgym.judges.rules.code_harness import (
    CodeTests,
    TestOutcome,
    candidate_source,
    harness,
    parse_tests,
    read_report,
    same_output,
)
from rewardgym.judges.runtime.sandbox import Limits, RunResult, Sandbox, SandboxUnavailable
from rewardgym.judges.runtime.sandbox_slots import SandboxSlots
from rewardgym.judges.texts import text_of
from rewardgym.schema import Basis, ErrorType, Item, Result, StepScore, Taxonomy

__all__ = ["CodeParams", "CodeReward"]

log = logging.getLogger(__name__)


class CodeParams(Params):
    sandbox: Literal["bubblewrap", "none"] = Field(
        default="bubblewrap", description="none: trusted code only, no isolation at all"
    )
    all_or_nothing: bool = Field(default=False, description="1 only when every test passes")
    workers: int = Field(default=4, ge=1, le=256, description="programs running at once")
    timeout_s: float = Field(default=5.0, gt=0, le=600, description="wall clock per program")
    cpu_s: int = Field(default=5, ge=1, le=600)
    memory_mb: int = Field(default=512, ge=64, le=65536)
    processes: int = Field(default=32, ge=1, le=4096)
    file_size_mb: int = Field(default=16, ge=1, le=4096)
    output_bytes: int = Field(default=65536, ge=1024, le=64 * 1024 * 1024)
    excerpt_chars: int = Field(default=2000, ge=0, le=100_000, description="metadata excerpts")

    OPERATOR_ONLY = frozenset({"sandbox", "workers"})
    NOT_SCORING = frozenset({"workers"})  # left out of the ledger address
    AT_MOST_DEFAULT = frozenset(
        {"timeout_s", "cpu_s", "memory_mb", "processes", "file_size_mb", "output_bytes"}
        | {"excerpt_chars"}
    )


INLINE_WORKERS = 4


@functools.cache
def _inline_slots() -> SandboxSlots:
    """The one pool every inline code spec shares (``INLINE_WORKERS`` runs at once, whatever
    ``workers`` a trusted caller sends): inline specs must not make a pool, and take users,
    each."""
    return SandboxSlots(INLINE_WORKERS, "sandbox:inline:code")


class CodeReward(Reward):
    """Share of tests a Python completion passes, run in a sandbox."""

    type_id = "code"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = CodeParams
    description = "Python code run against tests (HumanEval, asserts, stdin/stdout) in bubblewrap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: CodeParams = self.params
        self._sandbox: Sandbox | None = None
        self._own_slots: SandboxSlots | None = None
        self.limits = Limits(
            cpu_s=p.cpu_s,
            wall_s=p.timeout_s,
            memory_mb=p.memory_mb,
            processes=p.processes,
            file_size_mb=p.file_size_mb,
            output_bytes=p.output_bytes,
        )

    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            try:
                self._sandbox = Sandbox(self.params.sandbox)
            except SandboxUnavailable as exc:
                raise ConfigError(f"reward {self.name!r}: {exc}") from exc
        return self._sandbox

    async def start(self) -> None:
        # The probe runs a sandbox: off the event loop. No bubblewrap: the server does not
        # start with this reward (an inline one: a config error for that request).
        await asyncio.to_thread(self.sandbox)

    def slots(self) -> SandboxSlots:
        """This reward's pool of sandbox runs (shared by all inline code specs)."""
        if self.label.startswith("inline:"):
            return _inline_slots()
        if self._own_slots is None:
            self._own_slots = SandboxSlots(self.params.workers, f"sandbox:{self.label}")
        return self._own_slots

    async def run(self, source: str, stdin: str) -> RunResult:
        """One program through the bounded pool."""
        return await self.slots().run(self.sandbox(), source, stdin, self.limits)

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        spec = item.reference if item.reference is not None else item.metadata.get("tests")
        try:
            tests = parse_tests(spec)
        except ValueError as exc:
            raise RewardError(ErrorType.INVALID_INPUT, str(exc)) from exc
        self.sandbox()
        source = candidate_source(tests, text_of(item.prompt), text_of(item.response))
        if tests.kind == "stdio":
            outcomes, runs = await self._stdio(tests, source)
        else:
            outcomes, runs = await self._harnessed(tests, source, text_of(item.prompt))
        return self._result(outcomes, runs)

    async def _harnessed(
        self, tests: CodeTests, source: str, prompt: str
    ) -> tuple[list[TestOutcome], list[RunResult]]:
        program, stdin = harness(tests, source, prompt)
        run = await self.run(program, stdin)
        outcomes, own_output = read_report(run.stdout, stdin.split("\n", 1)[0], tests)
        run.stdout = own_output
        for outcome in outcomes:
            if not outcome.passed and outcome.detail == "did not finish":
                outcome.detail = _why_ended(run)
        return outcomes, [run]

    async def _stdio(
        self, tests: CodeTests, source: str
    ) -> tuple[list[TestOutcome], list[RunResult]]:
        runs = await asyncio.gather(*(self.run(source, given) for given, _ in tests.cases))
        outcomes = []
        for i, (run, (_, expected)) in enumerate(zip(runs, tests.cases, strict=True)):
            if run.ok and same_output(run.stdout, expected):
                outcomes.append(TestOutcome(f"case {i}", True))
            elif run.ok:
                outcomes.append(TestOutcome(f"case {i}", False, "wrong output"))
            else:
                outcomes.append(TestOutcome(f"case {i}", False, _why_ended(run)))
        return outcomes, list(runs)

    def _result(self, outcomes: list[TestOutcome], runs: list[RunResult]) -> Result:
        p: CodeParams = self.params
        passed = sum(o.passed for o in outcomes)
        share = passed / len(outcomes)
        score = float(passed == len(outcomes)) if p.all_or_nothing else share
        cap = p.excerpt_chars
        first = runs[0]
        return Result(
            score=score,
            scores={"pass_rate": share},
            steps=[
                StepScore(
                    index=i,
                    text=o.name,
                    score=1.0 if o.passed else 0.0,
                    label="pass" if o.passed else "fail",
                )
                for i, o in enumerate(outcomes)
            ],
            metadata={
                "passed": passed,
                "tests": len(outcomes),
                "failures": {o.name: o.detail for o in outcomes if not o.passed},
                "stdout": first.stdout[:cap],
                "stderr": first.stderr[-cap:] if cap else "",
                "exit_code": first.exit_code,
                "timed_out": any(r.timed_out for r in runs),
                "output_exceeded": any(r.output_exceeded for r in runs),
                "wall_s": round(max(r.wall_s for r in runs), 3),
            },
        )

    async def aclose(self) -> None:
        if self._own_slots is not None:
            self._own_slots.close()
            self._own_slots = None


def _why_ended(run: RunResult) -> str:
    if run.timed_out:
        return "time limit (wall clock)"
    if run.output_exceeded:
        return "output limit"
    if run.signal is not None:
        return f"killed by signal {run.signal}"
    if run.exit_code is not None and run.exit_code > 128:
        return f"killed by signal {run.exit_code - 128} (a resource limit)"
    tail = run.stderr.strip().splitlines()[-1:] or [f"exit status {run.exit_code}"]
    return tail[0][:300]
