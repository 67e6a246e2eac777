#!/usr/bin/env python3
"""Streaming vs batched scoring while rollouts arrive one by one (issue 20).

``--samples`` rollouts finish evenly over ``--over`` seconds, as a trainer's generation
produces them. Each way of scoring them runs against the same real server (HTTP and gRPC on
loopback), one after another in this run, and gets the same scores:

- **batched at the end**: wait for the last rollout, then one batched call (how a GRPO step
  usually scores);
- **batched per group**: a batched call for every ``--group`` rollouts as the group completes
  (calls overlap, up to 8 at once);
- **gRPC stream**: one ``ScoreStream``; each rollout is sent as it finishes, each result comes
  back as it is ready.

Printed per reward: time to the first result and from the last rollout to the last result
(the wait generation cannot hide), throughput over the whole window, and the ratios.

Example:
    python bench/streaming.py                         # 1,024 samples over 10 s; math, exact_match
    python bench/streaming.py --samples 64 --over 1 --rewards exact_match   # a smoke run
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import start_server_process
from math_throughput import make_items as math_items

console = Console(width=140)


@dataclass
class Run:
    """When each result came back, in seconds from the first rollout; the scores by index."""

    name: str
    done_at: list[float]
    scores: dict[int, float | None]

    def first(self) -> float:
        return min(self.done_at)

    def last(self) -> float:
        return max(self.done_at)


def arrivals(n: int, over: float) -> list[float]:
    """When each rollout finishes: evenly over ``over`` seconds, the first at 0."""
    return [over * i / max(n - 1, 1) for i in range(n)]


def wait_until(start: float, at: float) -> None:
    delay = start + at - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def batched_at_end(url: str, reward: str, items: list[dict[str, Any]], at: list[float]) -> Run:
    with RewardClient(url, timeout=300) as client:
        client.score(reward, items[:2])  # connection and first-call costs out of the window
        start = time.perf_counter()
        wait_until(start, at[-1])
        results = client.score(reward, items)
        done = time.perf_counter() - start
    return Run(
        "batched at the end",
        [done] * len(items),
        {i: r.score for i, r in enumerate(results)},
    )


def batched_per_group(
    url: str, reward: str, items: list[dict[str, Any]], at: list[float], group: int
) -> Run:
    done_at = [0.0] * len(items)
    scores: dict[int, float | None] = {}
    with RewardClient(url, timeout=300) as client, ThreadPoolExecutor(8) as pool:
        client.score(reward, items[:2])
        start = time.perf_counter()

        def call(first: int) -> None:
            results = client.score(reward, items[first : first + group])
            now = time.perf_counter() - start
            for offset, result in enumerate(results):
                done_at[first + offset] = now
                scores[first + offset] = result.score

        futures = []
        for first in range(0, len(items), group):
            wait_until(start, at[min(first + group, len(items)) - 1])
            futures.append(pool.submit(call, first))
        for future in futures:
            future.result()
    return Run(f"batched per group of {group}", done_at, scores)


def streamed(target: str, reward: str, items: list[dict[str, Any]], at: list[float]) -> Run:
    done_at = [0.0] * len(items)
    scores: dict[int, float | None] = {}
    with GrpcRewardClient(target, timeout=300) as client:
        warm = [{"id": "w", "reward": reward, "item": items[0]}]
        list(client.score_stream(iter(warm)))
        start = time.perf_counter()

        def rollouts() -> Iterator[dict[str, Any]]:
            for i, item in enumerate(items):
                wait_until(start, at[i])
                yield {"id": str(i), "reward": reward, "item": item}

        for answer in client.score_stream(rollouts()):
            index = int(answer.id)
            done_at[index] = time.perf_counter() - start
            scores[index] = answer.result.score if answer.result is not None else None
    return Run("gRPC stream", done_at, scores)


def text_items(n: int) -> list[dict[str, Any]]:
    return [{"response": f"City{i % 97}", "reference": f"city{i % 89}"} for i in range(n)]


def items_for(reward: str, n: int) -> list[dict[str, Any]]:
    if reward == "math":
        return [item.model_dump(exclude_defaults=True) for item in math_items(n)]
    return text_items(n)


def report(reward: str, runs: list[Run], at: list[float]) -> None:
    table = Table(title=f"{reward}: {len(at)} rollouts over {at[-1]:.1f} s")
    for column in ("how", "first result (s)", "last result - last rollout (s)", "items/s"):
        table.add_column(column, justify="right" if column != "how" else "left")
    for run in runs:
        table.add_row(
            run.name,
            f"{run.first():.3f}",
            f"{run.last() - at[-1]:.3f}",
            f"{len(at) / run.last():.1f}",
        )
    console.print(table)
    end, stream = runs[0], runs[-1]
    console.print(
        f"{reward}: gRPC stream vs batched at the end: first result "
        f"{end.first() / max(stream.first(), 1e-6):.0f}x sooner, wait after the last rollout "
        f"{stream.last() - at[-1]:.3f} vs {end.last() - at[-1]:.3f} s, throughput "
        f"{end.last() / stream.last():.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Example: python bench/streaming.py --samples 1024 --over 10",
    )
    parser.add_argument("--samples", type=int, default=1024, help="rollouts (default 1024)")
    parser.add_argument("--over", type=float, default=10.0, help="seconds they arrive over")
    parser.add_argument("--group", type=int, default=64, help="rollouts per batched call")
    parser.add_argument("--rewards", default="math,exact_match", help="comma-separated names")
    args = parser.parse_args()

    url, target, process = start_server_process(grpc=True)
    assert target is not None
    try:
        at = arrivals(args.samples, args.over)
        for reward in args.rewards.split(","):
            items = items_for(reward, args.samples)
            ways: list[Callable[[], Run]] = [
                functools.partial(batched_at_end, url, reward, items, at),
                functools.partial(batched_per_group, url, reward, items, at, args.group),
                functools.partial(streamed, target, reward, items, at),
            ]
            runs = []
            for way in ways:
                with console.status(f"{reward}: scoring as rollouts arrive ({args.over:g} s)"):
                    runs.append(way())
            for run in runs[1:]:
                if run.scores != runs[0].scores:
                    raise SystemExit(f"{reward}: {run.name} gave other scores than batched")
            report(reward, runs, at)
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
