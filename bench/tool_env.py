#!/usr/bin/env python3
"""``rewardgym/ToolUse-v0`` throughput, measured side by side in one run: episodes/s and
sandbox calls/s with 16 sessions at once (one thread each, as a trainer's rollout workers or
the OpenEnv server's sessions run them) vs one episode after another.

Each episode is a scripted policy: a python call (the code sandbox), a second python call that
reads the first one's state, a calculator call, then the answer (scored by ``math``).

Example:
    python bench/tool_env.py --episodes 32 --sessions 16
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from rich.console import Console

from rewardgym.envs.tool_use import ToolUseEnv

console = Console()


def call(name: str, **arguments: object) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def episode(n: int) -> tuple[float, int]:
    """One scripted episode; its return and the sandbox calls it made."""
    a, b = 100 + n, 7 + n
    env = ToolUseEnv(tools=["python", "calculator"], tool_rewards={})
    env.reset(options={"task": {"prompt": f"What is {a} * {b}?", "reference": str(a * b)}})
    env.step(call("python", code=f"a = {a}"))
    env.step(call("python", code=f"print(a * {b})"))
    env.step(call("calculator", expression=f"{a} * {b}"))
    *_, terminated, _, _ = env.step(f"\\boxed{{{a * b}}}")
    assert terminated and env.stop == "final_answer"
    value = env.episode_return("null")
    env.close()
    return value or 0.0, 2


def run(episodes: int, sessions: int) -> tuple[float, float, float]:
    """Episodes/s, sandbox calls/s and the mean return."""
    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        done = list(pool.map(episode, range(episodes)))
    elapsed = time.perf_counter() - started
    return (
        episodes / elapsed,
        sum(c for _, c in done) / elapsed,
        statistics.fmean(r for r, _ in done),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    episode(0)  # warm: the sandbox's probe, the math workers
    alone, together = [], []
    for _ in range(opts.rounds):
        alone.append(run(opts.episodes, 1))
        together.append(run(opts.episodes, opts.sessions))
    one = statistics.median(r[0] for r in alone)
    many = statistics.median(r[0] for r in together)
    console.print(
        f"ToolUse-v0, {opts.episodes} scripted episodes (2 python calls, 1 calculator call, "
        f"the answer), {opts.rounds} rounds:"
    )
    console.print(
        f"  one after another: {one:6.2f} episodes/s, "
        f"{statistics.median(r[1] for r in alone):6.2f} sandbox calls/s"
    )
    console.print(
        f"  {opts.sessions} sessions at once: {many:6.2f} episodes/s, "
        f"{statistics.median(r[1] for r in together):6.2f} sandbox calls/s, "
        f"ratio {many / one:.2f}"
    )
    console.print(f"  mean return {statistics.fmean(r[2] for r in together):.2f} (1.0: solved)")


if __name__ == "__main__":
    main()
