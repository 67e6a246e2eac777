#!/usr/bin/env python3
"""Load test: a real server on loopback under a fixed rate of mixed requests for a fixed time.

Open loop: request k is sent at start + k / rate whatever happened to the earlier ones, so a
slow server shows up as latency, not as a politely lower rate. The mix cycles through rule
rewards over HTTP (math, exact match, format, JSON, ROUGE, a composite), the same over gRPC,
and, with ``--judge-model DIR``, a pointwise LLM judge on an in-process transformers model
(a tiny local one: scripts/make_tiny_judge_model.py). Reported: requests and items, errors
(HTTP status >= 400, gRPC errors, items with an error), latency p50/p95/p99 per kind, and the
server's resident memory (with its worker processes) at the start and the end.
Exit status 1 when any request or item failed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rewardgym.client.grpc import GrpcRewardClient

try:
    from bench._server import start_server_process
except ImportError:  # run as a script: bench/ is on sys.path
    from _server import start_server_process  # type: ignore[no-redef]

console = Console()


def _items(kind: str, n: int, k: int) -> list[dict[str, Any]]:
    if kind == "math":
        return [
            {"response": rf"so \boxed{{{(k + i) % 7}/{3}}}", "reference": f"{(k + i) % 7}/3"}
            for i in range(n)
        ]
    if kind == "json_valid":
        return [{"response": f'{{"a": {i}, "b": [1, 2, {k}]}}'} for i in range(n)]
    if kind == "judge":
        return [
            {"prompt": f"Name a prime above {k}.", "response": f"{k + i} maybe"} for i in range(n)
        ]
    return [
        {
            "prompt": f"Question {k}-{i}?",
            "response": f"<think>step {i}</think><answer>{(k * i) % 5}</answer>",
            "reference": str((k * i) % 5),
        }
        for i in range(n)
    ]


# (kind label, reward name, items per request, front)
MIX: list[tuple[str, str, int, str]] = [
    ("math x8", "math", 8, "http"),
    ("exact x32", "exact_match", 32, "http"),
    ("format x8", "think_answer_format", 8, "http"),
    ("json x8", "json_valid", 8, "http"),
    ("rougeL x8", "rougeL", 8, "http"),
    ("math+format x4", "math_with_format", 4, "http"),
    ("math x8 (gRPC)", "math", 8, "grpc"),
    ("exact x32 (gRPC)", "exact_match", 32, "grpc"),
]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - family
        family |= frontier
    total = 0
    for p in family:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def write_config(path: Path, judge_model: str | None) -> Path:
    from rewardgym.config import load_reward_config

    rewards = [s.model_dump(mode="json", exclude_none=True) for s in load_reward_config().rewards]
    if judge_model:
        rewards.append(
            {
                "name": "judge",
                "type": "pointwise",
                "params": {
                    "rubric": "helpfulness10",
                    "verdict": "logprobs",
                    "backend": {
                        "kind": "transformers",
                        "model": judge_model,
                        "max_batch_size": 16,
                        "cache": False,  # every call reaches the model
                    },
                },
            }
        )
    path.write_text(yaml.safe_dump({"rewards": rewards}))
    return path


async def run_load(
    url: str, grpc_target: str, mix: list[tuple[str, str, int, str]], rate: float, duration: float
) -> tuple[dict[str, list[float]], dict[str, int], int, float]:
    """Latencies per kind, errors per kind, items sent, and the wall time of the run."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    total = int(rate * duration)
    items_sent = 0
    grpc_client = GrpcRewardClient(grpc_target, timeout=60, retries=0)
    # the blocking gRPC client runs in threads: enough of them that the client never queues
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(256))
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def one(k: int) -> None:
            label, reward, n, front = mix[k % len(mix)]
            items = _items(reward if reward in ("math", "json_valid", "judge") else "text", n, k)
            started = time.perf_counter()
            try:
                if front == "http":
                    response = await http.post("/v1/score", json={"reward": reward, "items": items})
                    ok = response.status_code == 200
                    results = response.json()["results"] if ok else []
                else:
                    call: Callable[[], Any] = lambda: grpc_client.score(reward, items)  # noqa: E731
                    results = [r.model_dump() for r in await asyncio.to_thread(call)]
                    ok = True
            except Exception as exc:  # counted, and shown once
                ok, results = False, []
                if not errors[label]:
                    console.print(f"[red]{label}: {type(exc).__name__}: {exc}")
            latencies[label].append(time.perf_counter() - started)
            if not ok or len(results) != n or any(r.get("error") for r in results):
                errors[label] += 1

        tasks: list[asyncio.Task[None]] = []
        with Progress(
            TextColumn("load"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} sent"),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("load", total=total)
            start = time.perf_counter()
            for k in range(total):
                delay = start + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                items_sent += mix[k % len(mix)][2]
                tasks.append(asyncio.create_task(one(k)))
                progress.advance(bar)
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - start
    grpc_client.close()
    return latencies, errors, items_sent, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--judge-model", help="a local chat model dir: adds a judge to the mix")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rewardgym-load"))
    opts = parser.parse_args()
    opts.workdir.mkdir(parents=True, exist_ok=True)
    mix = list(MIX)
    if opts.judge_model:
        mix += [("judge x4", "judge", 4, "http"), ("judge x4 (gRPC)", "judge", 4, "grpc")]
    config = write_config(opts.workdir / "config.yaml", opts.judge_model)
    url, grpc_target, process = start_server_process("--config", str(config), grpc=True)
    assert grpc_target is not None
    try:
        for _label, reward, n, _front in mix:  # one of each first: RSS at start is warm
            kind = reward if reward in ("math", "json_valid", "judge") else "text"
            warm = httpx.post(
                f"{url}/v1/score", json={"reward": reward, "items": _items(kind, n, -1)}, timeout=60
            )
            warm.raise_for_status()
        rss_start = rss_mb(process.pid)
        latencies, errors, items, wall = asyncio.run(
            run_load(url, grpc_target, mix, opts.rate, opts.duration)
        )
        rss_end = rss_mb(process.pid)
        healthy = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    table = Table(title=f"{opts.duration:g} s at {opts.rate:g} requests/s, mixed")
    for col in ("kind", "requests", "errors", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    everything: list[float] = []
    for label, *_ in mix:
        values = latencies[label]
        everything += values
        table.add_row(
            label,
            str(len(values)),
            str(errors[label]),
            f"{pct(values, 0.5):.1f}",
            f"{pct(values, 0.95):.1f}",
            f"{pct(values, 0.99):.1f}",
        )
    failed = sum(errors.values())
    table.add_row(
        "all",
        str(len(everything)),
        str(failed),
        f"{pct(everything, 0.5):.1f}",
        f"{pct(everything, 0.95):.1f}",
        f"{pct(everything, 0.99):.1f}",
    )
    console.print(table)
    print(
        f"sent {len(everything)} requests ({items} items) in {wall:.1f} s = "
        f"{len(everything) / wall:.1f} requests/s, {items / wall:.0f} items/s"
    )
    print(f"errors: {failed}")
    print(f"server RSS (with workers): start {rss_start:.0f} MiB, end {rss_end:.0f} MiB")
    print(
        f"median latency: {statistics.median(everything) * 1000:.1f} ms; healthy after: {healthy}"
    )
    sys.exit(1 if failed or not healthy else 0)


if __name__ == "__main__":
    main()
