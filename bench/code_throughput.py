#!/usr/bin/env python3
"""The ``code`` reward's throughput in the bubblewrap sandbox.

1. HumanEval's 164 canonical solutions (from ../shared/data/humaneval) scored with the pool
   (``--workers`` programs at once) vs one at a time: programs/s and the speed-up.
2. The sandbox's cost per program: the same small program run sandboxed vs ``sandbox: none``
   (unsandboxed, trusted-code mode), one at a time: ms per program and the difference.
Rounds alternate between the compared settings so machine noise hits both; medians reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rewardgym.judges.base import ScoreContext
from rewardgym.judges.rules.code_harness import humaneval_item
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec

console = Console()
HUMANEVAL = (
    Path(__file__).resolve().parent.parent.parent / "shared/data/humaneval/HumanEval.jsonl.gz"
)


def reward(**params: Any) -> Any:
    return RewardRegistry([]).resolve(RewardSpec.model_validate({"type": "code", "params": params}))


def rate(params: dict[str, Any], items: list[Item]) -> tuple[float, int]:
    """(programs/s, programs passed) scoring ``items`` with a fresh reward."""
    r = reward(**params)

    async def run() -> tuple[float, int]:
        await r.start()
        try:
            started = time.perf_counter()
            results = await r.score(items, ScoreContext())
            elapsed = time.perf_counter() - started
        finally:
            await r.aclose()
        for x in results:
            if x.score != 1.0:
                console.print(f"[red]failed:[/] {x.metadata.get('failures')} {x.error}")
        return len(items) / elapsed, sum(x.score == 1.0 for x in results)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=4, help="programs at once in the pool")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--limit", type=int, default=164, help="HumanEval problems used")
    parser.add_argument("--overhead-runs", type=int, default=40, help="small programs per round")
    opts = parser.parse_args()
    if not HUMANEVAL.exists():
        raise SystemExit(f"{HUMANEVAL} is absent (../shared holds the public data)")
    with gzip.open(HUMANEVAL, "rt") as fh:
        problems = [json.loads(line) for line in fh][: opts.limit]
    items = [humaneval_item(p) for p in problems]
    small = [Item(response="x = sum(range(1000))", reference=["assert x == 499500"])] * (
        opts.overhead_runs
    )
    rates: dict[str, list[float]] = {"pool": [], "one at a time": [], "sandboxed": [], "none": []}
    for _ in range(opts.rounds):
        pooled, passed_pool = rate({"workers": opts.workers}, items)
        single, passed_single = rate({"workers": 1}, items)
        assert passed_pool == passed_single == len(items), (passed_pool, passed_single)
        rates["pool"].append(pooled)
        rates["one at a time"].append(single)
        rates["sandboxed"].append(rate({"workers": 1}, small)[0])
        rates["none"].append(rate({"workers": 1, "sandbox": "none"}, small)[0])
    med = {k: statistics.median(v) for k, v in rates.items()}
    table = Table(title=f"code reward, median of {opts.rounds} alternating rounds")
    table.add_column("measure")
    table.add_column("programs/s", justify="right")
    table.add_column("ms / program", justify="right")
    table.add_column("runs")
    for name, value in med.items():
        label = {
            "pool": f"HumanEval canonical, pool of {opts.workers}",
            "one at a time": "HumanEval canonical, one at a time",
            "sandboxed": "small program, bubblewrap",
            "none": "small program, sandbox: none",
        }[name]
        runs = ", ".join(f"{r:.1f}" for r in rates[name])
        table.add_row(label, f"{value:.1f}", f"{1000 / value:.1f}", runs)
    console.print(table)
    console.print(
        f"pool speed-up: {med['pool'] / med['one at a time']:.2f}x ({len(items)} programs)"
    )
    overhead = 1000 / med["sandboxed"] - 1000 / med["none"]
    console.print(f"sandbox overhead per program: {overhead:.1f} ms")


if __name__ == "__main__":
    main()
