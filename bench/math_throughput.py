#!/usr/bin/env python3
"""Math reward throughput: the server's worker pool vs math-verify item by item in one process.

Both sides do the same work per item (rewardgym.judges.rules.math_worker.verify_answer: parse
the gold, parse the answer, verify) on the same items, in the same run, interleaved.
Goal (issue 2): pool >= 1.6x on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time

from rich.console import Console
from rich.progress import track

from rewardgym.judges.rules.math import MathParams
from rewardgym.judges.rules.math_worker import verify_answer
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec, ScoreRequest
from rewardgym.service import RewardService

console = Console()


def make_items(n: int, seed: int = 0) -> list[Item]:
    """Distinct MATH/GSM-style items: integers, fractions, roots, decimals, tuples, intervals."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        a, b, c = rng.randint(2, 999), rng.randint(2, 99), rng.randint(1, 9)
        kind = i % 6
        if kind == 0:
            gold, pred = str(a * b), f"{a} times {b} gives \\boxed{{{a * b + (i % 4 == 0)}}}."
        elif kind == 1:
            gold, pred = f"\\frac{{{a}}}{{{b}}}", f"So $x = \\dfrac{{{2 * a}}}{{{2 * b}}}$."
        elif kind == 2:
            gold, pred = f"{c}\\sqrt{{{b}}}", f"The length is $\\boxed{{\\sqrt{{{c * c * b}}}}}$"
        elif kind == 3:
            gold, pred = f"{a / 8:.3f}", f"Therefore the answer is {a / 8:.3f} dollars."
        elif kind == 4:
            gold = f"({a}, \\frac{{{c}}}{{{b}}})"
            pred = f"The point is $\\left({a}, \\frac{{{c}}}{{{b + (i % 5 == 0)}}}\\right)$"
        else:
            gold, pred = f"[{c}, {a})", f"Hence $x \\in \\boxed{{[{c}, {a})}}$."
        prose = " ".join(
            rng.choice(["First,", "we", "note", "that", "then", "so"])
            for _ in range(rng.randint(5, 60))
        )
        items.append(Item(prompt=f"problem {i}", response=f"{prose} {pred}", reference=gold))
    return items


def sequential(items: list[Item]) -> float:
    options = MathParams().model_dump(exclude={"timeout_s", "workers"})
    started = time.perf_counter()
    for item in track(items, description="item by item", console=console, transient=True):
        verify_answer(str(item.reference), str(item.response), options)
    return len(items) / (time.perf_counter() - started)


async def pooled(service: RewardService, items: list[Item]) -> tuple[float, int]:
    started = time.perf_counter()
    response = await service.score(ScoreRequest(reward="math", items=items))
    rate = len(items) / (time.perf_counter() - started)
    return rate, sum(r.error is not None for r in response.results)


async def main_async(opts: argparse.Namespace) -> None:
    items = make_items(opts.items)
    service = RewardService(RewardRegistry([RewardSpec(name="math", type="math")]))
    await service.start()
    try:
        verify_answer("1", "\\boxed{1}", MathParams().model_dump())  # warm this process too
        seq_rates, pool_rates = [], []
        for round_ in range(opts.rounds):
            console.print(f"round {round_ + 1}/{opts.rounds}")
            rate, errors = await pooled(service, items)
            assert errors == 0, f"{errors} items failed in the pool"
            pool_rates.append(rate)
            seq_rates.append(sequential(items))
    finally:
        await service.aclose()
    seq, pool = statistics.median(seq_rates), statistics.median(pool_rates)
    console.print(
        f"{opts.items} math items, {os.cpu_count()} CPUs, median of {opts.rounds} "
        "interleaved rounds:"
    )
    console.print(f"  math-verify item by item, one process: {seq:8.1f} items/s")
    console.print(f"  rewardgym worker pool                : {pool:8.1f} items/s")
    console.print(f"  speed-up = {pool / seq:.2f}x  (goal >= 1.6x on 2 cores)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
