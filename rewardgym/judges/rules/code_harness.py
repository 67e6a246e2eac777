"""What a code item's tests are, and the program that runs them in the sandbox.

Three kinds of test (``item.reference``, or ``item.metadata["tests"]``):
- HumanEval: ``{"test": "def check(candidate): ...", "entry_point": "f"}``; the prompt (the
  function's signature and docstring) goes before the completion unless the completion defines
  the entry point itself; one test: ``check(f)``.
- assert: ``{"tests": ["assert f(1) == 2", ...], "setup": "..."}`` or a plain list of
  statements; each runs on its own, so the score is the share that pass.
- stdin/stdout: ``{"cases": [{"input": "1 2\\n", "output": "3\\n"}, ...]}``; one run per case,
  outputs compared with trailing whitespace ignored.

The verdict never comes from the candidate: ``code_runner`` runs the tests in a judge process
and the candidate in a fresh interpreter of its own that answers calls to its functions with
plain data only, and knows neither the tests nor the marker of the judge's report lines.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import re2

from rewardgym.judges.user_regex import compile_pattern, search
from rewardgym.schema import Item

__all__ = [
    "CodeTests",
    "TestOutcome",
    "extract_code",
    "harness",
    "humaneval_item",
    "parse_tests",
    "read_report",
]

Kind = Literal["humaneval", "assert", "stdio"]
# RE2 (linear time): a response of 200,000 backticks costs a backtracking engine minutes.
_FENCE = compile_pattern(r"```(?:python|py|python3)?[^\n]*\n(.*?)```", dotall=True)


@dataclass(frozen=True)
class CodeTests:
    """The tests of one item."""

    kind: Kind
    tests: tuple[str, ...] = ()
    setup: str = ""
    entry_point: str | None = None
    cases: tuple[tuple[str, str], ...] = ()

    @property
    def count(self) -> int:
        return len(self.cases) if self.kind == "stdio" else len(self.tests)


@dataclass
class TestOutcome:
    """One test's result."""

    name: str
    passed: bool
    detail: str = ""


def parse_tests(spec: Any) -> CodeTests:
    """The tests described by an item's reference (ValueError says what is expected)."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError:
            spec = {"tests": [spec]}
    if isinstance(spec, list) and all(isinstance(t, str) for t in spec):
        spec = {"tests": spec}
    if not isinstance(spec, dict):
        raise ValueError(
            "code tests: a reference like {test, entry_point} (HumanEval), {tests: [...]} "
            "(assert statements) or {cases: [{input, output}]} (stdin/stdout)"
        )
    if "entry_point" in spec and "test" in spec:
        entry = str(spec["entry_point"])
        if not entry.isidentifier():
            raise ValueError(f"entry_point {entry!r} is not a Python name")
        return CodeTests("humaneval", (f"{spec['test']}\n\ncheck({entry})\n",), entry_point=entry)
    if "tests" in spec:
        tests = spec["tests"]
        if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
            raise ValueError("code tests: 'tests' must be a non-empty list of statements")
        return CodeTests("assert", tuple(tests), setup=str(spec.get("setup") or ""))
    if "cases" in spec:
        cases = spec["cases"]
        if not isinstance(cases, list) or not cases:
            raise ValueError("code tests: 'cases' must be a non-empty list of {input, output}")
        try:
            pairs = tuple((str(c.get("input", "")), str(c["output"])) for c in cases)
        except (AttributeError, KeyError) as exc:
            raise ValueError(
                "code tests: every case needs 'output' (and may have 'input')"
            ) from exc
        return CodeTests("stdio", cases=pairs)
    raise ValueError(
        f"code tests: unknown keys {sorted(spec)}; expected test + entry_point, tests, or cases"
    )


def humaneval_item(problem: dict[str, Any], completion: str | None = None) -> Item:
    """A HumanEval problem (a row of HumanEval.jsonl) as an item: ``completion``, or the
    problem's canonical solution."""
    return Item(
        prompt=problem["prompt"],
        response=problem["canonical_solution"] if completion is None else completion,
        reference={"test": problem["test"], "entry_point": problem["entry_point"]},
    )


def extract_code(text: str) -> str:
    """The last fenced Python block of a response, else the response itself."""
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


def candidate_source(tests: CodeTests, prompt: str, completion: str) -> str:
    """The candidate program: HumanEval completions get their prompt in front, unless they
    define the entry point themselves."""
    code = extract_code(completion)
    entry = tests.entry_point
    defines = entry is not None and search(
        compile_pattern(rf"(?m)^\s*def\s+{re2.escape(entry)}\s*\("), code
    )
    if tests.kind == "humaneval" and not defines:
        return prompt + code
    return code


_RUNNER = (Path(__file__).parent / "code_runner.py").read_text(encoding="utf-8")


def harness(tests: CodeTests, source: str, prompt: str = "") -> tuple[str, str]:
    """(program, stdin): the two-process runner (``code_runner``) and what it reads: a
    per-run marker for its report lines, then the candidate and its tests as JSON. A
    HumanEval item's ``prompt`` is trusted: its helpers run on the judge's side."""
    mark = secrets.token_hex(16)
    job = {
        "source": source,
        "setup": tests.setup,
        "tests": list(tests.tests),
        "prelude": prompt if tests.kind == "humaneval" else "",
        "entry_point": tests.entry_point,
    }
    return _RUNNER, mark + "\n" + json.dumps(job)


def read_report(stdout: str, mark: str, tests: CodeTests) -> tuple[list[TestOutcome], str]:
    """Per-test outcomes from the harness's marked lines (a test without a line did not
    finish), and the candidate's own output (unmarked lines)."""
    found: dict[int, tuple[bool, str]] = {}
    own = []
    for line in stdout.splitlines():
        if line.startswith(mark + " "):
            try:
                index, passed, detail = json.loads(line[len(mark) + 1 :])
            except (ValueError, TypeError):
                continue
            if int(index) in found:  # a second verdict for one test is a forgery: it fails
                found[int(index)] = (False, "two verdicts for this test")
                continue
            found[int(index)] = (bool(passed), str(detail))
        elif line:  # the harness starts each report on a new line: skip the blank it leaves
            own.append(line)
    outcomes = []
    load_error = found.get(-1)
    for i in range(len(tests.tests)):
        name = f"test {i}" if tests.kind == "assert" else "check"
        if i in found:
            outcomes.append(TestOutcome(name, *found[i]))
        elif load_error is not None:
            outcomes.append(TestOutcome(name, False, f"the program failed: {load_error[1]}"))
        else:
            outcomes.append(TestOutcome(name, False, "did not finish"))
    if tests.kind == "assert":
        for outcome, test in zip(outcomes, tests.tests, strict=True):
            outcome.name = test.strip().splitlines()[0][:120] if test.strip() else outcome.name
    return outcomes, "\n".join(own)


def same_output(got: str, expected: str) -> bool:
    """stdout comparison: trailing whitespace on each line and trailing blank lines ignored."""

    def norm(text: str) -> list[str]:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(got) == norm(expected)
