#!/usr/bin/env python3
"""Samples/s through each trainer's own reward client, at its default batching, beside
rewardgym's own batched client, in one run against one real server (math reward, the same
items for every row).

- rewardgym: ``RewardClient.score`` with the whole batch (one call per 1,024 items);
- TRL: ``RewardFunction`` (one call per batch, as GRPOTrainer calls it);
- verl batch: ``compute_score_batch`` called the way verl's ``BatchRewardManager`` calls it
  (one call per batch);
- verl naive: ``compute_score`` per sample in the default executor, gathered, the way verl's
  reward-loop ``NaiveRewardManager.run_single`` runs a sync function (one call per sample);
- OpenRLHF: its ``SingleTurnAgentExecutor._fetch_rewards_via_http`` per sample, gathered (one
  aiohttp session and call per sample, as its executors run);
- slime: its ``remote_rm`` request per sample, gathered (aiohttp, 64 connections);
- NeMo Gym: ``POST /verify`` per sample, gathered.

OpenRLHF comes from ``.peers`` (scripts/test installs it); without it its row is skipped.
Prints samples/s, ms per sample and the ratio to rewardgym's batched client.

Example:
    python bench/trainer_clients.py --samples 256
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / ".peers"))

from bench._server import running_server  # noqa: E402
from rewardgym.client import RewardClient  # noqa: E402
from rewardgym.integrations.trl_reward import RewardFunction  # noqa: E402

console = Console()


def _samples(n: int) -> list[tuple[str, str, str]]:
    return [
        (f"What is {i} + {i}?", f"So \\boxed{{{2 * i + i % 2}}}.", str(2 * i)) for i in range(n)
    ]


def _rewardgym(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    items = [{"prompt": p, "response": r, "reference": g} for p, r, g in samples]
    with RewardClient(url) as client:
        return [r.score for r in client.score("math", items)]


def _trl(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    fn = RewardFunction("math", url)
    return fn(
        [p for p, _, _ in samples], [r for _, r, _ in samples], answer=[g for *_, g in samples]
    )


def _verl_batch(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    from rewardgym.integrations.verl import compute_score_batch

    out = compute_score_batch(
        ["bench"] * len(samples),
        [r for _, r, _ in samples],
        [g for *_, g in samples],
        [{"question": p} for p, _, _ in samples],
        reward="math",
        url=url,
    )
    return [o["score"] for o in out]


def _verl_naive(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    from rewardgym.integrations.verl import compute_score

    async def run() -> list[float | None]:
        loop = asyncio.get_running_loop()

        async def one(p: str, r: str, g: str) -> float:
            out = await loop.run_in_executor(
                None, lambda: compute_score("bench", r, g, {"question": p}, reward="math", url=url)
            )
            return out["score"]

        return list(await asyncio.gather(*(one(*s) for s in samples)))

    return asyncio.run(run())


def _openrlhf(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    executor = SingleTurnAgentExecutor(remote_rm_url=f"{url}/get_reward")

    async def run() -> list[float | None]:
        outs = await asyncio.gather(
            *(executor._fetch_rewards_via_http([p + r], [p], [g]) for p, r, g in samples)
        )
        return [o[0]["rewards"][0] for o in outs]

    return asyncio.run(run())


def _slime(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    async def run() -> list[float | None]:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(p: str, r: str, g: str) -> float:
                payload = {"prompt": p, "response": r, "label": g}
                async with session.post(f"{url}/slime/reward", json=payload) as resp:
                    resp.raise_for_status()
                    return float(await resp.json())

            return list(await asyncio.gather(*(one(*s) for s in samples)))

    return asyncio.run(run())


def _nemo_gym(url: str, samples: list[tuple[str, str, str]]) -> list[float | None]:
    async def run() -> list[float | None]:
        async with aiohttp.ClientSession() as session:

            async def one(p: str, r: str, g: str) -> float:
                row = {
                    "responses_create_params": {"input": [{"role": "user", "content": p}]},
                    "response": {
                        "output": [
                            {"type": "message", "content": [{"type": "output_text", "text": r}]}
                        ]
                    },
                    "expected_answer": g,
                }
                async with session.post(f"{url}/verify?reward=math", json=row) as resp:
                    return float((await resp.json())["reward"])

            return list(await asyncio.gather(*(one(*s) for s in samples)))

    return asyncio.run(run())


ROWS: dict[str, Callable[[str, list[tuple[str, str, str]]], list[float | None]]] = {
    "rewardgym RewardClient (batched)": _rewardgym,
    "TRL RewardFunction (per batch)": _trl,
    "verl compute_score_batch (per batch)": _verl_batch,
    "verl compute_score (per sample)": _verl_naive,
    "OpenRLHF agent executor (per sample)": _openrlhf,
    "slime remote_rm (per sample)": _slime,
    "NeMo Gym /verify (per sample)": _nemo_gym,
}


def _available(name: str) -> bool:
    module = {"OpenRLHF": "openrlhf"}.get(name.split()[0])
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        console.print(f"skipping {name}: {module} is not installed (.peers)")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python bench/trainer_clients.py --samples 256",
    )
    parser.add_argument("--samples", type=int, default=256, help="samples per row")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best kept)")
    args = parser.parse_args()
    samples = _samples(args.samples)
    expected: list[float | None] | None = None
    best: dict[str, float] = {}
    config = ROOT / "tests" / "data" / "test_config.yaml"
    with running_server("--config", str(config)) as url:
        _rewardgym(url, samples[:8])  # warm the pool
        for _ in range(args.rounds):
            for name, run in ROWS.items():
                if not _available(name):
                    continue
                started = time.perf_counter()
                scores = run(url, samples)
                elapsed = time.perf_counter() - started
                expected = expected or scores
                assert scores == expected, (name, scores[:8], expected[:8])
                best[name] = min(best.get(name, elapsed), elapsed)
    base = best["rewardgym RewardClient (batched)"]
    table = Table(title=f"{args.samples} samples, math reward, best of {args.rounds} rounds")
    for column in ("client", "samples/s", "ms / sample", "vs rewardgym batched"):
        table.add_column(column)
    for name, elapsed in best.items():
        table.add_row(
            name,
            f"{args.samples / elapsed:.0f}",
            f"{1000 * elapsed / args.samples:.2f}",
            f"{base / elapsed:.2f}x",
        )
    console.print(table)
    console.print("every client's scores were equal to rewardgym's batched call")


if __name__ == "__main__":
    main()
