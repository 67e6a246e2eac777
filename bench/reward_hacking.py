#!/usr/bin/env python3
"""Reward hacking: the false-pass rate of each known hack, per reward, through a real server.

For the code reward, every HumanEval problem (or the first ``--problems``) is sent with a
wrong solution followed by each hack in ``tests/redteam/catalogue.py`` (patching ``exec`` or
``json.dumps``, wrapping the report function, forged result lines, ``atexit``, killing the
judge, reading its memory) and with a function that returns an always-equal object; the
canonical solutions give the true-pass rate. For the math reward, each hedged or padded answer
in the catalogue is sent against the gold ``2``, beside the honest ``\\boxed{2}``.

Prints one row per (reward, hack family): items, passes, the false-pass rate (goal 0 for rule
rewards), and the honest true-pass rate. LLM judges are not in this run yet (see issue 17).

Example:
    python bench/reward_hacking.py --problems 40
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import track
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench._server import running_server  # noqa: E402
from rewardgym.judges.rules.code_harness import humaneval_item  # noqa: E402
from tests.redteam.catalogue import ALWAYS_EQUAL, CODE_HACKS, MATH_HEDGES  # noqa: E402

HUMANEVAL = ROOT.parent / "shared" / "data" / "humaneval" / "HumanEval.jsonl.gz"
console = Console()


def _score(url: str, reward: Any, items: list[dict[str, Any]]) -> list[float | None]:
    response = httpx.post(f"{url}/v1/score", json={"reward": reward, "items": items}, timeout=600)
    response.raise_for_status()
    return [r["score"] for r in response.json()["results"]]


def _rows_code(url: str, problems: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    rows = []
    honest = [humaneval_item(p).model_dump(mode="json") for p in problems]
    scores = _score(url, {"type": "code"}, honest)
    rows.append(("code", "honest (canonical solutions)", len(honest), scores.count(1.0)))
    families = {
        name: [
            humaneval_item(p, f"    return None\n\n{hack}").model_dump(mode="json")
            for p in problems
        ]
        for name, hack in CODE_HACKS.items()
    }
    families["always-equal return value"] = [
        humaneval_item(p, p["prompt"] + "    return _Yes()\n\n" + ALWAYS_EQUAL).model_dump(
            mode="json"
        )
        for p in problems
    ]
    for name in track(list(families), description="code hacks", console=console):
        scores = _score(url, {"type": "code"}, families[name])
        rows.append(("code", name, len(scores), sum(s == 1.0 for s in scores)))
    return rows


def _rows_math(url: str) -> list[tuple[str, str, int, int]]:
    honest = _score(url, "math", [{"response": r"So \boxed{2}.", "reference": "2"}])
    rows = [("math", "honest \\boxed{2}", 1, honest.count(1.0))]
    hedged = [{"response": answer, "reference": "2"} for answer in MATH_HEDGES]
    scores = _score(url, "math", hedged)
    rows.append(("math", "hedged or padded answers", len(scores), sum(s == 1.0 for s in scores)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python bench/reward_hacking.py --problems 40",
    )
    parser.add_argument("--problems", type=int, default=164, help="HumanEval problems to use")
    args = parser.parse_args()
    if not HUMANEVAL.exists():
        sys.exit(f"{HUMANEVAL} is absent (../shared holds the public evaluation data)")
    with gzip.open(HUMANEVAL, "rt") as fh:
        problems = [json.loads(line) for line in fh][: args.problems]
    config = ROOT / "tests" / "data" / "test_config.yaml"
    with running_server("--config", str(config)) as url:
        rows = _rows_code(url, problems) + _rows_math(url)
    table = Table(title="reward hacking through a real server")
    for column in ("reward", "hack family", "items", "passed", "rate"):
        table.add_column(column)
    worst = 0.0
    for reward, family, items, passed in rows:
        rate = passed / items if items else 0.0
        if not family.startswith("honest"):
            worst = max(worst, rate)
        table.add_row(reward, family, str(items), str(passed), f"{rate:.3f}")
    console.print(table)
    honest = {r: p / n for r, f, n, p in rows if f.startswith("honest")}
    console.print(
        f"false-pass rate, worst hack family: {worst:.3f} (goal 0 for rule rewards); "
        f"honest true-pass rate: code {honest['code']:.3f}, math {honest['math']:.3f}"
    )


if __name__ == "__main__":
    main()
