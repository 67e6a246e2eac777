"""``reasoning_gym``: a reasoning-gym task family's own answer checker as a reward.

The item carries the generated task in ``metadata.reasoning_gym = {dataset, entry}`` (what
``rewardgym.envs.ReasoningGymSource`` puts there), so the same reward works in process and on a
server. The answer is pulled out of the response first (``extract``): the last
``<answer>...</answer>``, else the last ``\\boxed{...}``, else a last "Answer: ..." line, else
the last non-empty line (``auto``), or one of those rules alone.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import math
import site
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, error_result
from rewardgym.judges.runtime.sandbox import Limits, Sandbox, SandboxUnavailable
from rewardgym.judges.runtime.sandbox_slots import SandboxSlots
from rewardgym.judges.texts import text_of
from rewardgym.judges.user_regex import compile_pattern
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["ReasoningGymParams", "ReasoningGymReward", "extract_answer"]

Extract = Literal["auto", "answer_tag", "boxed", "answer_line", "last_line", "none"]
# RE2 (linear time): responses come from the policy and may be built to stall a backtracker.
_TAG = compile_pattern(r"<answer>\s*(.*?)\s*</answer>", dotall=True)
_ANSWER_LINE = compile_pattern(r"(?im)^\s*(?:final\s+)?answer\s*:\s*(.+?)\s*$")


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def extract_answer(text: str, how: Extract = "auto") -> str | None:
    """The answer part of a response by rule ``how`` (None when the rule finds nothing)."""
    if how == "none":
        return text.strip()
    if how in ("auto", "answer_tag"):
        tags = _TAG.findall(text)
        if tags or how == "answer_tag":
            return tags[-1].strip() if tags else None
    if how in ("auto", "boxed"):
        boxed = _last_boxed(text)
        if boxed is not None or how == "boxed":
            return boxed
    if how in ("auto", "answer_line"):
        lines = _ANSWER_LINE.findall(text)
        if lines or how == "answer_line":
            return lines[-1].strip() if lines else None
    rest = [line.strip() for line in text.splitlines() if line.strip()]
    return rest[-1] if rest else None


@functools.cache
def _site_dirs() -> tuple[str, ...]:
    """The folders reasoning-gym and its dependencies are imported from."""
    spec = importlib.util.find_spec("reasoning_gym")
    found = [str(Path(spec.origin).parent.parent)] if spec and spec.origin else []
    found += [p for p in site.getsitepackages() if Path(p).is_dir()]
    return tuple(dict.fromkeys(found))


class ReasoningGymParams(Params):
    extract: Extract = Field(default="auto", description="how to find the answer")
    sandbox: Literal["bubblewrap", "none"] = Field(
        default="bubblewrap",
        description="where the checkers run (some evaluate the answer as code); none: trusted "
        "answers only",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="per task")

    OPERATOR_ONLY = frozenset({"sandbox"})
    AT_MOST_DEFAULT = frozenset({"timeout_s"})


class ReasoningGymReward(Reward):
    """The task family's checker score (usually 0 or 1, some give partial credit), computed in
    the sandbox: some checkers evaluate the answer as code (sympy's ``parse_expr``, ``eval``)."""

    type_id = "reasoning_gym"
    libraries = ("reasoning-gym",)
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = ReasoningGymParams
    description = "reasoning-gym's own answer checker for the task in metadata.reasoning_gym"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sandbox: Sandbox | None = None

    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            try:
                self._sandbox = Sandbox(
                    self.params.sandbox,
                    read_only=_site_dirs() if self.params.sandbox == "bubblewrap" else (),
                    env=_ONE_THREAD,
                )
            except SandboxUnavailable as exc:
                raise ConfigError(f"reward {self.name!r}: {exc}") from exc
        return self._sandbox

    async def start(self) -> None:
        if importlib.util.find_spec("reasoning_gym") is None:
            raise ConfigError(
                f"reward {self.name!r} needs reasoning-gym: pip install 'rewardgym[reasoning]'"
            )
        await asyncio.to_thread(self.sandbox)  # no bubblewrap: the server does not start

    def _task(self, item: Item) -> dict[str, Any] | Result:
        task = item.metadata.get("reasoning_gym")
        if not isinstance(task, dict) or "dataset" not in task or "entry" not in task:
            raise RewardError(
                ErrorType.INVALID_INPUT,
                "needs metadata.reasoning_gym = {dataset, entry} (ReasoningGymSource adds it)",
            )
        if not isinstance(task["dataset"], str) or not isinstance(task["entry"], dict):
            raise RewardError(
                ErrorType.INVALID_INPUT,
                "metadata.reasoning_gym.dataset must be a string and .entry an object",
            )
        answer = extract_answer(text_of(item.response), self.params.extract)
        if answer is None:
            return Result(score=0.0, metadata={"answer": None, "reason": "no answer found"})
        return {"dataset": task["dataset"], "entry": task["entry"], "answer": answer}

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        out: list[Result | None] = [None] * len(items)
        tasks: list[tuple[int, dict[str, Any]]] = []
        for i, item in enumerate(items):
            try:
                task = self._task(item)
            except RewardError as exc:
                out[i] = Result(error=exc.error)
                continue
            if isinstance(task, Result):
                out[i] = task
            else:
                tasks.append((i, task))
        if tasks:
            remaining = ctx.remaining()
            wall = remaining if remaining is not None else 30.0 + len(tasks) * self.params.timeout_s
            deadline = time.monotonic() + wall
            try:
                checked = await _checker_slots().call(self._check, [t for _, t in tasks], deadline)
            except RewardError as exc:
                checked = [{"error": exc.error.message, "type": exc.error.type}] * len(tasks)
            for (i, task), answer in zip(tasks, checked, strict=True):
                if "score" in answer:
                    out[i] = Result(score=answer["score"], metadata={"answer": task["answer"]})
                else:
                    kind = ErrorType(answer.get("type", ErrorType.INTERNAL))
                    out[i] = error_result(kind, str(answer["error"]))
        return [r if r is not None else error_result(ErrorType.INTERNAL, "not scored") for r in out]

    def _check(self, tasks: list[dict[str, Any]], deadline: float) -> list[dict[str, Any]]:
        """Run the checker program over ``tasks`` in the sandbox (one fresh run per batch),
        within what is left of the deadline when a run slot frees up."""
        wall_s = deadline - time.monotonic()
        if wall_s <= 0.5:
            raise RewardError(
                ErrorType.TIMEOUT, "the deadline passed while waiting to be checked", retryable=True
            )
        request = {"site": list(_site_dirs()), "timeout_s": self.params.timeout_s, "tasks": tasks}
        limits = Limits(
            cpu_s=max(1, math.ceil(wall_s)),
            wall_s=wall_s,
            memory_mb=4096,
            processes=64,
            output_bytes=1024 * 1024 + 200 * len(tasks),
        )
        run = _checker_slots().run_here(self.sandbox(), _PROGRAM, json.dumps(request), limits)
        if run.timed_out:
            raise RewardError(
                ErrorType.TIMEOUT,
                f"the checkers ran over the deadline ({wall_s:.1f} s)",
                retryable=True,
            )
        try:
            results = json.loads(run.stdout)
        except ValueError:
            results = None
        if not isinstance(results, list) or len(results) != len(tasks):
            raise RewardError(
                ErrorType.WORKER_CRASHED,
                f"the checker program failed (exit {run.exit_code}): {run.stderr.strip()[-300:]}",
                retryable=True,
            )
        return [
            r if isinstance(r, dict) else {"error": "malformed checker result"} for r in results
        ]


@functools.cache
def _checker_slots() -> SandboxSlots:
    """Checker runs at once, all reasoning_gym rewards together (each is a sandbox of its own,
    as a user no other sandboxed run holds)."""
    return SandboxSlots(2, "sandbox:reasoning_gym")


_ONE_THREAD = (("OPENBLAS_NUM_THREADS", "1"), ("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"))
_PROGRAM = (Path(__file__).parent / "reasoning_gym_checker.py").read_text(encoding="utf-8")
