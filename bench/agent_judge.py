#!/usr/bin/env python3
"""The agent judge against the plain pointwise judge on the same items, side by side in one run:
tool calls per verdict, seconds per item, items scored, errors, and agreement with the items'
gold labels.

Items are claims a tool can check: arithmetic (reasoning-gym's ``basic_arithmetic``, half of
the answers off by one) and code (a small function and what it claims to do, half of them
wrong). Gold: the claim is true.

Backend: an OpenAI-compatible server (``--url`` and ``--model``: a real judge on a GPU, where
agreement means something), else the tiny tool-calling model built by
``scripts/make_tiny_tool_model.py`` (or ``--model-dir``) in process with the ``transformers``
backend on this CPU. The tiny model proves the mechanics and the costs (it calls tools, the
transcript is kept, the bounds hold); its agreement with gold is chance.

Example:
    python bench/agent_judge.py --items 8
    python bench/agent_judge.py --url http://gpu:8000/v1 --model Qwen/Qwen3-8B --items 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rewardgym.config import Settings
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, Result, RewardSpec, ScoreRequest
from rewardgym.service import RewardService

console = Console(width=140)
ROOT = Path(__file__).resolve().parent.parent

CODE_CLAIMS = [
    ("def add(a, b):\n    return a + b", "add(a, b) returns the sum of a and b.", True),
    ("def add(a, b):\n    return a - b", "add(a, b) returns the sum of a and b.", False),
    ("def square(x):\n    return x * x", "square(7) returns 49.", True),
    ("def square(x):\n    return x ** 3", "square(7) returns 49.", False),
    ("def last(xs):\n    return xs[-1]", "last([1, 2, 3]) returns 3.", True),
    ("def last(xs):\n    return xs[0]", "last([1, 2, 3]) returns 3.", False),
    (
        "def evens(n):\n    return [i for i in range(n) if i % 2 == 0]",
        "evens(5) is [0, 2, 4].",
        True,
    ),
    ("def evens(n):\n    return [i for i in range(1, n, 2)]", "evens(5) is [0, 2, 4].", False),
]


def claims(n: int) -> list[tuple[Item, bool]]:
    """``n`` items, half arithmetic and half code, each with its gold label."""
    import reasoning_gym

    tasks = reasoning_gym.create_dataset("basic_arithmetic", size=n, seed=7)
    out: list[tuple[Item, bool]] = []
    for i in range(n):
        if i % 2 == 0:
            task = tasks[i]
            right = i % 4 == 0
            answer = task["answer"] if right else str(int(float(task["answer"])) + 1)
            item = Item(prompt=task["question"], response=f"The result is {answer}.")
            out.append((item, right))
        else:
            code, claim, right = CODE_CLAIMS[(i // 2) % len(CODE_CLAIMS)]
            prompt = "Write the function and say what it does."
            out.append((Item(prompt=prompt, response=f"```python\n{code}\n```\n{claim}"), right))
    return out


def backend(opts: argparse.Namespace, model_dir: Path | None) -> dict[str, Any]:
    if opts.url:
        return {"base_url": opts.url, "model": opts.model, "cache": False, "timeout_s": 300}
    return {"kind": "transformers", "model": str(model_dir), "cache": False, "max_batch_size": 8}


def specs(back: dict[str, Any], max_tokens: int) -> dict[str, RewardSpec]:
    plain = {"type": "pointwise", "params": {"backend": back, "verdict": "logprobs"}}
    agent = {
        "type": "agent",
        "params": {"backend": back, "max_tokens": max_tokens, "tools": ["python", "calculator"]},
    }
    return {
        "pointwise (plain)": RewardSpec.model_validate({"name": "plain", **plain}),
        "agent (python, calculator)": RewardSpec.model_validate({"name": "agent", **agent}),
    }


async def judge(spec: RewardSpec, items: list[Item]) -> tuple[list[Result], float]:
    assert spec.name is not None
    service = RewardService(RewardRegistry([spec]), Settings(audit_per_minute=0))
    try:
        await service.score(ScoreRequest(reward=spec.name, items=items[:1]))  # load, warm
        started = time.perf_counter()
        response = await service.score(ScoreRequest(reward=spec.name, items=items))
        return response.results, time.perf_counter() - started
    finally:
        await service.aclose()


def summary(results: list[Result], gold: list[bool], seconds: float) -> dict[str, Any]:
    scored = [(r, g) for r, g in zip(results, gold, strict=True) if r.score is not None]
    calls = [len(r.metadata.get("transcript", [])) for r, _ in scored]
    steps = [s for r, _ in scored for s in r.metadata.get("transcript", [])]
    tools = Counter(s["tool"] or "(unreadable call)" for s in steps)
    return {
        "items": len(results),
        "scored": len(scored),
        "errors": dict(Counter(str(r.error.type) for r in results if r.error is not None)),
        "tool_calls_per_verdict": statistics.fmean(calls) if calls else 0.0,
        "tools": dict(tools),
        "seconds_per_item": seconds / len(results),
        "agreement_with_gold": (
            statistics.fmean(((r.score or 0) >= 0.5) == g for r, g in scored) if scored else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=8, help="claims to judge (half code)")
    parser.add_argument("--url", help="an OpenAI-compatible /v1 URL (a real judge)")
    parser.add_argument("--model", default="judge", help="the model name at --url")
    parser.add_argument("--model-dir", type=Path, help="a tiny tool model already built")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    opts = parser.parse_args()
    data = claims(opts.items)
    items, gold = [i for i, _ in data], [g for _, g in data]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = opts.model_dir
        if not opts.url and model_dir is None:
            model_dir = Path(tmp) / "tiny-tool-model"
            console.print("building the tiny tool-calling model (about 90 s on a CPU)...")
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "make_tiny_tool_model.py"), str(model_dir)],
                check=True,
                capture_output=True,
            )
        figures = {}
        for label, spec in specs(backend(opts, model_dir), opts.max_tokens).items():
            results, seconds = asyncio.run(judge(spec, items))
            figures[label] = summary(results, gold, seconds)
    table = Table(title=f"{opts.items} claims ({'real judge' if opts.url else 'tiny model, CPU'})")
    for column in ("judge", "scored", "errors", "tool calls/verdict", "tools", "s/item", "gold"):
        table.add_column(column)
    for label, f in figures.items():
        agreement = f["agreement_with_gold"]
        table.add_row(
            label,
            f"{f['scored']}/{f['items']}",
            json.dumps(f["errors"]) if f["errors"] else "-",
            f"{f['tool_calls_per_verdict']:.2f}",
            json.dumps(f["tools"]) if f["tools"] else "-",
            f"{f['seconds_per_item']:.2f}",
            f"{agreement:.2f}" if agreement is not None else "-",
        )
    console.print(table)
    plain, agent = figures.values()
    ratio = agent["seconds_per_item"] / plain["seconds_per_item"]
    console.print(f"agent / plain seconds per item: {ratio:.2f}")
    if not opts.url:
        console.print("(the tiny model's agreement with gold is chance: a GPU run measures it)")
    if opts.json:
        opts.json.write_text(json.dumps({"figures": figures, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
