#!/usr/bin/env python3
"""What an in-process LLM judge costs on a CPU (docs/judge-on-a-laptop.md).

The judge is a model of Qwen2.5-0.5B-Instruct's shape (24 layers, hidden 896, 14 heads, 2 KV
heads, 151,936-token vocabulary: 494M parameters, float32) with random weights, built here:
the hub cannot be reached from CI, and a forward pass costs the same whatever the weights. It
judges through rewardgym's ``transformers`` backend, in process, with the README's pointwise
rubric (additive5). Side by side in one run, alternating rounds:
  logprobs, one at a time : each item its own call (one forward pass per item);
  logprobs, batched       : the same items in one call (the backend batches them);
  json, one item          : a generated verdict, up to ``max_tokens`` tokens (a random model
                            never stops early, so this is the upper bound).
Judge audits are off (``REWARDGYM_AUDIT_PER_MINUTE=0``): at the default budget each call may
add an audit judgment that competes for the same cores, which is not what is measured here.
The prompt is tokenised by the tiny test tokenizer, which splits text into more tokens than
Qwen's would (its token count is printed), so the per-item figures are on the high side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
ROOT = Path(__file__).resolve().parent.parent
QWEN25_05B = {
    "vocab_size": 151936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
}
ITEMS = [
    {"prompt": "Name a prime number.", "response": "7 is prime: its only divisors are 1 and 7."},
    {"prompt": "What is the capital of France?", "response": "Paris, on the Seine."},
    {"prompt": "Give a synonym of quick.", "response": "Fast, or rapid."},
    {"prompt": "How many legs has a spider?", "response": "Eight legs."},
    {"prompt": "What is 12 * 12?", "response": "12 * 12 = 144."},
    {"prompt": "Who wrote Hamlet?", "response": "William Shakespeare, around 1600."},
    {"prompt": "What gas do plants take in?", "response": "Carbon dioxide, for photosynthesis."},
    {"prompt": "Name a primary colour.", "response": "Red."},
]


def build(out: Path, layers: int) -> Path:
    """The tiny test model's tokenizer beside random weights of Qwen2.5-0.5B's shape."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_tiny_judge_model.py"), str(out)],
        check=True,
        capture_output=True,
    )
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(**{**QWEN25_05B, "num_hidden_layers": layers})
    model = Qwen2ForCausalLM(config).to(torch.float32)
    model.save_pretrained(out)
    console.print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters")
    return out


def spec(model: Path, verdict: str, max_tokens: int) -> dict[str, Any]:
    backend = {"kind": "transformers", "model": str(model), "device": "cpu", "dtype": "float32"}
    return {
        "type": "pointwise",
        "params": {
            "rubric": "additive5",
            "verdict": verdict,
            "max_tokens": max_tokens,
            "backend": {**backend, "cache": False, "max_batch_size": 8},
        },
    }


async def timed(service: Any, reward: dict[str, Any], items: list[dict[str, str]]) -> float:
    from rewardgym import ScoreRequest

    started = time.perf_counter()
    response = await service.score(ScoreRequest(reward=reward, items=items))
    failed = [r.error for r in response.results if r.error is not None]
    if failed:
        console.print(f"[yellow]{len(failed)} items failed: {failed[0].message[:120]}")
    return time.perf_counter() - started


async def run(model: Path, rounds: int, items: int, max_tokens: int) -> dict[str, list[float]]:
    from transformers import AutoTokenizer

    from rewardgym import RewardService

    batch = ITEMS[:items]
    logprobs, json_verdict = spec(model, "logprobs", 4), spec(model, "json", max_tokens)
    times: dict[str, list[float]] = {"one": [], "batched": [], "json": []}
    async with RewardService.running() as service:
        await timed(service, logprobs, batch[:1])  # load the model once, outside the timing
        tokenizer = AutoTokenizer.from_pretrained(model)
        judge = service.registry.resolve(_spec(logprobs))
        messages = judge.request(_item(batch[0])).messages  # type: ignore[attr-defined]
        chat = [{"role": role, "content": content} for role, content in messages]
        text = tokenizer.apply_chat_template(chat, tokenize=False)
        console.print(f"prompt: {len(text)} characters, {len(tokenizer(text).input_ids)} tokens")
        for _ in range(rounds):
            times["one"].append(sum([await timed(service, logprobs, [i]) for i in batch]))
            times["batched"].append(await timed(service, logprobs, batch))
            times["json"].append(await timed(service, json_verdict, batch[:1]))
    return times


def _spec(raw: dict[str, Any]) -> Any:
    from rewardgym.schema import RewardSpec

    return RewardSpec.model_validate(raw)


def _item(raw: dict[str, str]) -> Any:
    from rewardgym.schema import Item

    return Item.model_validate(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--layers", type=int, default=24, help="fewer for a quick smoke run")
    args = parser.parse_args()
    os.environ["REWARDGYM_AUDIT_PER_MINUTE"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        model = build(Path(tmp) / "qwen25-05b-shape", args.layers)
        times = asyncio.run(run(model, args.rounds, args.items, args.max_tokens))
    one, batched = statistics.median(times["one"]), statistics.median(times["batched"])
    json_s = statistics.median(times["json"])
    table = Table(
        title=f"in-process judge on this CPU: {args.items} items, median of {args.rounds}"
    )
    for column in ("verdict", "s per item", "items/s"):
        table.add_column(column)
    table.add_row("logprobs, one at a time", f"{one / args.items:.2f}", f"{args.items / one:.2f}")
    table.add_row("logprobs, batched", f"{batched / args.items:.2f}", f"{args.items / batched:.2f}")
    table.add_row(f"json, <= {args.max_tokens} tokens", f"{json_s:.2f}", f"{1 / json_s:.2f}")
    console.print(table)
    console.print(f"batched vs one at a time: {one / batched:.2f}x")


if __name__ == "__main__":
    main()
