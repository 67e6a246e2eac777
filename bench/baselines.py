#!/usr/bin/env python3
"""rewardgym against the plain baselines on the same work, side by side in one run (issue 20).

Each row times rewardgym and the simplest thing that does the same job, interleaved round by
round so machine noise hits both, and prints the medians, their ratio and the goal:

1. 1,024 exact_match items in process vs validating the same body with a minimal pydantic
   model and doing exact_match's normalisation and comparison in plain Python (the issue's
   first baseline, strip and lowercase only, is printed beside it);
2. the same batch over HTTP (rewardgym's client and server) vs in process, and a bare FastAPI
   endpoint on the same body; the bytes rewardgym sends back per result;
3. math on 2 workers vs a plain ``ProcessPoolExecutor(2)`` over the same function;
4. the code sandbox's cost per small program (bubblewrap vs ``sandbox: none``).

5. math over HTTP by request size: the same items sent by 16 concurrent clients as requests
   of 1, 8, 64 or 512 items, each size's items/s against the best batched one;
6. episodes/s of 16 concurrent OpenEnv sessions vs the same episodes in process
   (bench/env_server.py);
7. with a vLLM (``--vllm-url``, or one started from ``--vllm-python`` unless ``--quick``):
   the judge cache's warm path vs its cold one (bench/judge_throughput.py).

Example:
    python bench/baselines.py            # every row, full sizes (about 3 minutes)
    python bench/baselines.py --quick    # small sizes, a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import regex
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from rewardgym.client import AsyncRewardClient, RewardClient
from rewardgym.judges.base import ScoreContext
from rewardgym.judges.rules.math import MathParams
from rewardgym.judges.rules.math_worker import verify_answer
from rewardgym.judges.runtime.ports import free_loopback_port
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec, ScoreRequest
from rewardgym.service import RewardService
from rewardgym.wire import V2_MEDIA_TYPE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import running_server
from _vllm import judge_url
from env_server import measure as env_episodes
from judge_throughput import cache_rates
from math_throughput import make_items as math_items

console = Console(width=140)
ROWS: list[tuple[str, str, str, str]] = []


def median_ms(fn: Callable[[], Any], rounds: int, other: Callable[[], Any]) -> tuple[float, float]:
    """Median ms of ``fn`` and ``other``, interleaved ``rounds`` times after one warm-up each."""
    fn(), other()
    a, b = [], []
    for _ in range(rounds):
        for f, out in ((fn, a), (other, b)):
            started = time.perf_counter()
            f()
            out.append((time.perf_counter() - started) * 1000)
    return statistics.median(a), statistics.median(b)


def text_items(n: int) -> list[dict[str, str]]:
    return [
        {"prompt": f"capital of {i}?", "response": f"City{i % 97}", "reference": f"city{i % 89}"}
        for i in range(n)
    ]


class BareItem(BaseModel):
    prompt: str = ""
    response: str
    reference: str | None = None


class BareRequest(BaseModel):
    reward: str
    items: list[BareItem]


_PUNCTUATION = regex.compile(r"\p{P}+")


def bare_exact_match(response: str, reference: str) -> float:
    """exact_match's own work, written plainly: lowercase, drop punctuation, collapse
    whitespace, on both sides, then compare."""

    def norm(text: str) -> str:
        return " ".join(_PUNCTUATION.sub("", text.lower()).split())

    return float(norm(response) == norm(reference))


def row_in_process(n: int, rounds: int) -> Callable[[], list[float | None]]:
    body = {"reward": "exact_match", "items": text_items(n)}
    service = RewardService.from_settings()
    loop = asyncio.new_event_loop()

    def ours() -> list[float | None]:
        response = loop.run_until_complete(service.score(ScoreRequest.model_validate(body)))
        return [r.score for r in response.results]

    def bare() -> list[float]:
        request = BareRequest.model_validate(body)
        return [bare_exact_match(i.response, i.reference or "") for i in request.items]

    def validate_only() -> list[float]:
        request = BareRequest.model_validate(body)
        return [float(i.response.strip().lower() == (i.reference or "")) for i in request.items]

    assert ours() == bare(), "the bare baseline does other work than exact_match"
    ours_ms, bare_ms = median_ms(ours, rounds, bare)
    _, validate_ms = median_ms(ours, rounds, validate_only)
    ROWS.append(
        (
            f"{n} exact_match items in process",
            f"{ours_ms:.2f} ms",
            f"bare pydantic + the same normalisation: {bare_ms:.2f} ms "
            f"(validation and strip/lower only: {validate_ms:.2f} ms)",
            f"{ours_ms / bare_ms:.1f}x (goal <= 3x)",
        )
    )
    return ours


@contextmanager
def bare_server() -> Iterator[str]:
    port = free_loopback_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.post(f"{url}/score", json={"reward": "x", "items": []}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def row_http(n: int, rounds: int, in_process: Callable[[], list[float | None]]) -> None:
    items = text_items(n)
    with (
        running_server() as url,
        bare_server() as bare_url,
        RewardClient(url, chunk_size=n) as client,
        httpx.Client(timeout=60) as http,
    ):

        def ours() -> list[float | None]:
            return [r.score for r in client.score("exact_match", items)]

        def bare() -> list[float]:
            reply = http.post(f"{bare_url}/score", json={"reward": "exact_match", "items": items})
            return list(reply.json())

        assert ours() == in_process(), "HTTP and in-process results differ"
        http_ms, local_ms = median_ms(ours, rounds, in_process)
        _, bare_ms = median_ms(ours, rounds, bare)
        body = {"reward": "exact_match", "items": items}
        raw = http.post(f"{url}/v1/score", json=body)
        lean = http.post(f"{url}/v1/score", json=body, headers={"accept": V2_MEDIA_TYPE})
        plain = http.post(f"{bare_url}/score", json=body)
    ROWS.append(
        (
            "the same batch over HTTP",
            f"{http_ms:.2f} ms ({http_ms / local_ms:.2f}x in process)",
            f"bare FastAPI: {bare_ms:.2f} ms",
            f"{http_ms / local_ms:.2f} (goal <= 1.3 of in process)",
        )
    )
    ROWS.append(
        (
            "response size per result",
            f"v2 {len(lean.content) / n:.0f} bytes (v1 {len(raw.content) / n:.0f})",
            f"bare: {len(plain.content) / n:.0f} bytes",
            f"v2 is {len(raw.content) / len(lean.content):.1f}x smaller than v1",
        )
    )


def row_math(n: int) -> None:
    items = math_items(n)
    options = MathParams().model_dump(exclude={"timeout_s", "workers"})
    service = RewardService(RewardRegistry([RewardSpec(name="math", type="math")]))
    work = [(str(i.reference), str(i.response), options) for i in items]

    async def ours() -> float:
        await service.start()
        started = time.perf_counter()
        await service.score(ScoreRequest(reward="math", items=items))
        return n / (time.perf_counter() - started)

    loop = asyncio.new_event_loop()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(verify_answer, *zip(*work[:20], strict=True)))  # warm both workers
        rates_ours, rates_bare = [], []
        for _ in range(2):
            rates_ours.append(loop.run_until_complete(ours()))
            started = time.perf_counter()
            list(pool.map(verify_answer, *zip(*work, strict=True)))
            rates_bare.append(n / (time.perf_counter() - started))
    loop.run_until_complete(service.aclose())
    mine, bare = statistics.median(rates_ours), statistics.median(rates_bare)
    ROWS.append(
        (
            f"math, {n} items, 2 workers",
            f"{mine:.0f} items/s",
            f"ProcessPoolExecutor(2): {bare:.0f} items/s",
            f"{mine / bare:.2f}x (goal >= 1.0x)",
        )
    )


def row_sandbox(rounds: int) -> None:
    if shutil.which("bwrap") is None:
        ROWS.append(("code sandbox cost", "-", "-", "bubblewrap not installed: skipped"))
        return
    item = Item(response="def f(x):\n    return x + 1\n", reference={"tests": ["assert f(1) == 2"]})

    def make(**params: Any) -> Any:
        spec = RewardSpec.model_validate({"type": "code", "params": params})
        return RewardRegistry([]).resolve(spec)

    boxed, bare = make(), make(sandbox="none")
    loop = asyncio.new_event_loop()
    for reward in (boxed, bare):
        loop.run_until_complete(reward.start())

    def one(reward: Any) -> Callable[[], None]:
        def run() -> None:
            [result] = loop.run_until_complete(reward.score([item], ScoreContext()))
            assert result.score == 1.0, result

        return run

    boxed_ms, bare_ms = median_ms(one(boxed), rounds, one(bare))
    for reward in (boxed, bare):
        loop.run_until_complete(reward.aclose())
    ROWS.append(
        (
            "code, one small program",
            f"sandboxed {boxed_ms:.1f} ms",
            f"sandbox: none {bare_ms:.1f} ms",
            f"cost {boxed_ms - bare_ms:.1f} ms (goal <= 10 ms)",
        )
    )


def row_batch_sizes(n: int, sizes: list[int], clients: int = 16) -> None:
    items = [item.model_dump(exclude_defaults=True) for item in math_items(n)]

    async def rate(url: str, size: int) -> float:
        async with AsyncRewardClient(
            url, timeout=300, chunk_size=size, max_concurrency=clients
        ) as client:
            started = time.perf_counter()
            results = await client.score("math", items)
            elapsed = time.perf_counter() - started
        assert sum(r.error is not None for r in results) == 0
        return n / elapsed

    rates: dict[int, list[float]] = {size: [] for size in sizes}
    with running_server() as url:
        asyncio.run(rate(url, sizes[-1]))  # workers warm
        for _ in range(2):
            for size in sizes:
                rates[size].append(asyncio.run(rate(url, size)))
    medians = {size: statistics.median(r) for size, r in rates.items()}
    batched = max(medians[size] for size in sizes[1:])
    ROWS.append(
        (
            f"math over HTTP, {n} items, {clients} clients",
            ", ".join(f"batch {size}: {medians[size]:.0f}/s" for size in sizes),
            f"best batched: {batched:.0f} items/s",
            f"batch 1 at {medians[sizes[0]] / batched:.2f}x (goal >= 0.8x)",
        )
    )


def row_openenv(episodes: int, rounds: int) -> None:
    got = env_episodes(episodes, 16, rounds)
    ROWS.append(
        (
            f"OpenEnv, {episodes} episodes, 16 sessions",
            f"{got['openenv']:.0f} episodes/s",
            f"in process, one after another: {got['in process']:.0f} episodes/s",
            f"{got['openenv'] / got['in process']:.2f} (goal >= 0.9)",
        )
    )


def row_judge_cache(opts: argparse.Namespace, n: int) -> None:
    with (
        judge_url(opts.vllm_url, opts.vllm_python) as vllm_url,
        running_server(env={"REWARDGYM_INLINE_SPECS": "any"}) as url,
    ):
        cold, warm = cache_rates(url, vllm_url, n, 32)
    ROWS.append(
        (
            f"judge cache, {n} items over HTTP",
            f"warm {warm:.0f} items/s",
            f"cold (vLLM, tiny model): {cold:.0f} items/s",
            f"{warm / cold:.0f}x (goal >= 100x)",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    vllm_python = Path(__file__).resolve().parent.parent / ".vllm-venv" / "bin" / "python"
    parser.add_argument("--vllm-python", default=str(vllm_python), help="for the judge row")
    parser.add_argument("--vllm-url", help="a running vLLM serving the tiny judge")
    opts = parser.parse_args()
    n, rounds, math_n = (64, 3, 60) if opts.quick else (1024, 20, 2000)
    os.environ.setdefault("REWARDGYM_LOG_LEVEL", "warning")
    with console.status("in process vs bare pydantic"):
        in_process = row_in_process(n, rounds)
    with console.status("HTTP vs in process vs bare FastAPI"):
        row_http(n, rounds, in_process)
    with console.status(f"math: {math_n} items, pool vs ProcessPoolExecutor"):
        row_math(math_n)
    with console.status("code sandbox cost"):
        row_sandbox(max(rounds, 5))
    with console.status("math over HTTP by request size, 16 clients"):
        row_batch_sizes(96 if opts.quick else 2048, [1, 8, 64] if opts.quick else [1, 8, 64, 512])
    with console.status("OpenEnv sessions vs in process"):
        row_openenv(32 if opts.quick else 1600, 1 if opts.quick else 5)
    if opts.vllm_url or (not opts.quick and Path(opts.vllm_python).exists()):
        with console.status("judge cache: warm vs cold (vLLM)"):
            row_judge_cache(opts, 32 if opts.quick else 256)
    else:
        ROWS.append(("judge cache", "-", "-", "no vLLM (--vllm-url or --vllm-python): skipped"))
    table = Table(title="rewardgym vs the plain baselines (medians, interleaved, one run)")
    for col in ("what", "rewardgym", "baseline", "ratio / goal"):
        table.add_column(col)
    for row in ROWS:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
