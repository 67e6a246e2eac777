#!/usr/bin/env python3
"""Episodes/s through the OpenEnv server vs the same episodes in process.

The same ``--episodes`` episodes of ``rewardgym/MultiStep-v0`` (reasoning-gym arithmetic: a
reasoning step, then the final answer; rewards scored with the built-in ``math`` reward) are
played (1) by ``--sessions`` concurrent OpenEnv clients against ``rewardgym envs serve`` on
loopback, each session playing its share one after another, and (2) in this process, one
Gymnasium environment, one episode after another. Rounds alternate; medians reported, and
the ratio OpenEnv / in process. Every episode's return is checked to be the same both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gymnasium as gym
import httpx
from rich.console import Console
from rich.progress import track

import rewardgym.envs  # noqa: F401  (registers the ids)
from rewardgym.envs.datasets import env_rows
from rewardgym.integrations.openenv import RewardgymEnvClient, TextAction
from rewardgym.judges.runtime.ports import free_loopback_port

console = Console()
ENV_ID = "rewardgym/MultiStep-v0"
KWARGS = {"tasks": "rg:basic_arithmetic"}


def actions(row: dict[str, Any], k: int) -> list[str]:
    answer = row["reference"] if k % 2 == 0 else "-1"
    return ["First the products, then the sums.", f"Final answer: {answer}"]


def in_process(rows: list[dict[str, Any]]) -> tuple[float, list[float]]:
    env = gym.make(ENV_ID, **KWARGS)
    returns = []
    started = time.perf_counter()
    for k, row in enumerate(rows):
        env.reset(options={"task": json.loads(row["task"])})
        total = 0.0
        for action in actions(row, k):
            _, reward, *_ = env.step(action)
            total += float(reward)
        returns.append(total)
    elapsed = time.perf_counter() - started
    env.close()
    return len(rows) / elapsed, returns


async def over_openenv(
    url: str, rows: list[dict[str, Any]], sessions: int
) -> tuple[float, list[float]]:
    returns: list[float] = [0.0] * len(rows)

    async def session(s: int) -> None:
        async with RewardgymEnvClient(url) as client:
            for k in range(s, len(rows), sessions):
                await client.reset(task=json.loads(rows[k]["task"]))
                for action in actions(rows[k], k):
                    step = await client.step(TextAction(text=action))
                    returns[k] += float(step.reward or 0.0)

    started = time.perf_counter()
    await asyncio.gather(*(session(s) for s in range(sessions)))
    return len(rows) / (time.perf_counter() - started), returns


@contextmanager
def env_server(sessions: int, ws_compression: bool = False) -> Iterator[str]:
    """``rewardgym envs serve`` for the bench's environment; yields its URL."""
    port = free_loopback_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "envs",
            "serve",
            ENV_ID,
            "--port",
            str(port),
            "--max-sessions",
            str(sessions),
            "--env-kwargs",
            json.dumps(KWARGS),
            "--ws-compression" if ws_compression else "--no-ws-compression",
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            if time.monotonic() > deadline:
                raise SystemExit("the OpenEnv server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(
    episodes: int, sessions: int, rounds: int, ws_compression: bool = False
) -> dict[str, Any]:
    """Episodes/s over OpenEnv and in process, interleaved ``rounds`` times (medians and
    every round's rate); the returns are checked equal both ways."""
    rows = env_rows(gym.make(ENV_ID, **KWARGS), range(episodes))
    rates: dict[str, list[float]] = {"openenv": [], "in process": []}
    with env_server(sessions, ws_compression) as url:
        asyncio.run(over_openenv(url, rows[:sessions], sessions))  # warm both
        in_process(rows[:4])
        for _ in track(range(rounds), description="rounds", console=console):
            remote, remote_returns = asyncio.run(over_openenv(url, rows, sessions))
            local, local_returns = in_process(rows)
            assert remote_returns == local_returns, "the two ways gave different returns"
            rates["openenv"].append(remote)
            rates["in process"].append(local)
    return {
        "openenv": statistics.median(rates["openenv"]),
        "in process": statistics.median(rates["in process"]),
        "rounds": rates,
        "right": sum(r > 0 for r in local_returns),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=1600)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--ws-compression", action="store_true", help="serve with permessage-deflate on"
    )
    opts = parser.parse_args()
    got = measure(opts.episodes, opts.sessions, opts.rounds, opts.ws_compression)
    remote_rate, local_rate, rates = got["openenv"], got["in process"], got["rounds"]
    print(f"{opts.episodes} episodes of {ENV_ID} (2 actions each; {got['right']} answered right):")
    print(
        f"  OpenEnv, {opts.sessions} concurrent sessions: {remote_rate:8.1f} episodes/s  "
        f"({', '.join(f'{r:.1f}' for r in rates['openenv'])})"
    )
    print(
        f"  in process, one after another:   {local_rate:8.1f} episodes/s  "
        f"({', '.join(f'{r:.1f}' for r in rates['in process'])})"
    )
    print(f"  ratio OpenEnv / in process = {remote_rate / local_rate:.2f}")


if __name__ == "__main__":
    main()
