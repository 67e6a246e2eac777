#!/usr/bin/env python3
"""Environment throughput against a real reward server: 64 sub-environments stepped as one
``BatchedTextEnv`` (one reward call per step for all of them) vs the same 64 environments
stepped one by one (one reward call each, what gymnasium's SyncVectorEnv would do). Rounds
alternate between the two so machine noise hits both; the ratio is of the medians.

Each step is one whole single-turn episode (reset + step), so steps/s = episodes/s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
from rich.console import Console

import rewardgym.envs  # noqa: F401  (registers the ids)
from rewardgym.envs.vector import BatchedTextEnv
from rewardgym.scoring import RemoteScorer

try:
    from bench._server import running_server
except ImportError:  # run as a script
    from _server import running_server  # type: ignore[no-redef]

console = Console()


def answer(prompt: str) -> str:
    expression = prompt.split(":")[-1].rstrip("= ")
    return f"<answer>{eval(expression, {'__builtins__': {}})}</answer>"  # chain_sum: +, -


def batched_rate(venv: BatchedTextEnv, steps: int, seed: int) -> float:
    obs, _ = venv.reset(seed=seed)
    started = time.perf_counter()
    for _ in range(steps):
        obs, rewards, terminated, *_ = venv.step([answer(o) for o in obs])
        assert terminated.all() and rewards.min() == 1.0
        obs, *_ = venv.step([""] * venv.num_envs)  # NEXT_STEP autoreset: new tasks
    return venv.num_envs * steps / (time.perf_counter() - started)


def one_by_one_rate(envs: list[gym.Env[str, str]], steps: int, seed: int) -> float:
    started = time.perf_counter()
    for s in range(steps):
        for i, env in enumerate(envs):
            obs, _ = env.reset(seed=seed + 1000 * s + i)
            _, reward, terminated, *_ = env.step(answer(obs))
            assert terminated and reward == 1.0
    return len(envs) * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--envs", type=int, default=64, help="sub-environments")
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    opts = parser.parse_args()
    kwargs = {"task": "chain_sum", "system_prompt": None}
    with running_server() as url:
        venv = BatchedTextEnv(
            env_id="rewardgym/ReasoningGym-v0", num_envs=opts.envs, scorer=url, **kwargs
        )
        scorer = RemoteScorer(url)
        singles = [
            gym.make("rewardgym/ReasoningGym-v0", scorer=scorer, **kwargs) for _ in range(opts.envs)
        ]
        batched_rate(venv, 2, 0)  # warm both paths
        one_by_one_rate(singles, 1, 0)
        batched, single = [], []
        with console.status("measuring") as status:
            for r in range(opts.rounds):
                status.update(f"round {r + 1}/{opts.rounds}")
                batched.append(batched_rate(venv, opts.steps, 10 * r))
                single.append(one_by_one_rate(singles, opts.steps, 10 * r))
        venv.close()
    b, s = statistics.median(batched), statistics.median(single)
    console.print(
        f"{opts.envs} ReasoningGym-v0 (chain_sum) environments against a real server, "
        f"{opts.rounds} alternating rounds of {opts.steps} steps:"
    )
    console.print(f"  one batched call per step : {b:8.1f} steps/s (rounds: {_fmt(batched)})")
    console.print(f"  one call per environment  : {s:8.1f} steps/s (rounds: {_fmt(single)})")
    console.print(f"  ratio batched / one-by-one: {b / s:.1f}x")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()
