#!/usr/bin/env python3
"""Server overhead: a 1,024-item string_check batch over HTTP vs in process, and the latency
of single-item requests on loopback. All figures come from one run, measured side by side.

Goals (issue 2): HTTP / in-process <= 1.3 for the batch; single-item p50 <= 3 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from rich.console import Console
from rich.progress import track

from rewardgym.client import RewardClient
from rewardgym.schema import ScoreRequest
from rewardgym.service import RewardService

try:
    from bench._server import running_server
except ImportError:  # run as a script: bench/ is on sys.path
    from _server import running_server  # type: ignore[no-redef]

console = Console()


def make_items(n: int) -> list[dict[str, str]]:
    return [
        {
            "prompt": f"What is the capital of country {i}?",
            "response": f"The capital is City{i % 97}.",
            "reference": f"the capital is city{i % 89}",
        }
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1024, help="batch size")
    parser.add_argument("--rounds", type=int, default=20, help="timed batches per side")
    parser.add_argument("--requests", type=int, default=2000, help="single-item requests")
    opts = parser.parse_args()
    items = make_items(opts.items)
    reward = "exact_match"
    service = RewardService.from_settings()
    loop = asyncio.new_event_loop()

    def in_process() -> list[float | None]:
        # The same work a user does without a server: build the request, score, read results.
        request = ScoreRequest.model_validate({"reward": reward, "items": items})
        response = loop.run_until_complete(service.score(request))
        return [r.score for r in response.results]

    with running_server() as url, RewardClient(url, chunk_size=opts.items) as client:

        def over_http() -> list[float | None]:
            return [r.score for r in client.score(reward, items)]

        assert in_process() == over_http(), "HTTP and in-process results differ"
        local_s, http_s = [], []
        for _ in track(range(opts.rounds), description="batches (interleaved)", console=console):
            for fn, out in ((in_process, local_s), (over_http, http_s)):
                started = time.perf_counter()
                fn()
                out.append(time.perf_counter() - started)
        one = make_items(1)
        latencies = []
        for _ in range(50):  # warm-up
            client.score(reward, one)
        for _ in track(range(opts.requests), description="single-item requests", console=console):
            started = time.perf_counter()
            client.score(reward, one)
            latencies.append((time.perf_counter() - started) * 1000)
    local, remote = statistics.median(local_s), statistics.median(http_s)
    q = statistics.quantiles(latencies, n=100)
    console.print(f"batch of {opts.items} string_check items, median of {opts.rounds}:")
    console.print(f"  in process : {local * 1000:8.2f} ms")
    console.print(f"  over HTTP  : {remote * 1000:8.2f} ms")
    console.print(f"  ratio HTTP / in process = {remote / local:.2f}  (goal <= 1.3)")
    per_item_us = (remote - local) / opts.items * 1e6
    console.print(f"  HTTP overhead per item = {per_item_us:.1f} us (JSON both ways + validation)")
    console.print(f"single-item request on loopback, {opts.requests} requests:")
    console.print(f"  p50 = {q[49]:.2f} ms, p99 = {q[98]:.2f} ms  (goal p50 <= 3 ms)")


if __name__ == "__main__":
    main()
