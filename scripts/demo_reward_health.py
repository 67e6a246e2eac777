#!/usr/bin/env python3
"""Reward health, shown: a real server watches a rule reward and an audited LLM judge while
the traffic it scores drifts, then ``rewardgym health`` prints the table and draws the plots.

1. builds the tiny judge model (random weights: its verdicts mean nothing, its audits are
   real calls) and serves it in process (``kind: transformers``) beside ``math``;
2. sends traffic in two phases: mostly right answers to ``gsm``-style items, then mostly
   wrong, longer ones to ``aime``-style items (the score distribution drifts, the length
   bias shows), while ``rewardgym health --plots`` takes snapshots;
3. prints the table (the last snapshot) and writes one PNG per reward under --out.

Runs in about two minutes on 2 CPU cores (no GPU, no network).

Example:
    python scripts/demo_reward_health.py --out /tmp/health-demo
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import running_server  # noqa: E402


def config(model: Path) -> dict:
    rubric = {
        "description": "Is the answer right?",
        "scores": {1: "wrong", 2: "partly", 3: "right"},
    }
    return {
        "rewards": [
            {"name": "math", "type": "math"},
            {
                "name": "judge",
                "type": "pointwise",
                "params": {
                    "rubric": rubric,
                    "verdict": "logprobs",
                    "use_reference": True,
                    "shadow": "math",
                    "backend": {"kind": "transformers", "model": str(model), "cache": False},
                },
            },
        ]
    }


def items(phase: int, n: int, rng: random.Random) -> list[dict]:
    out = []
    for _ in range(n):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        right = rng.random() < (0.85 if phase == 0 else 0.25)
        answer = a + b if right else a + b + rng.randint(1, 9)
        padding = (
            "" if phase == 0 else " Let me double-check the carry once more." * rng.randint(1, 6)
        )
        out.append(
            {
                "prompt": f"What is {a} + {b}?",
                "response": f"The answer is \\boxed{{{answer}}}.{padding}",
                "reference": str(a + b),
                "metadata": {"data_source": "gsm" if phase == 0 else "aime"},
            }
        )
    return out


def traffic(url: str, rounds: int, pace_s: float, stop: threading.Event) -> None:
    """``rounds`` batches, one every ``pace_s`` seconds: right answers first, then wrong ones."""
    rng = random.Random(0)
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=300) as client:
        for r in range(rounds):
            time.sleep(max(0.0, started + r * pace_s - time.monotonic()))
            phase = 0 if r < rounds // 2 else 1
            batch = items(phase, 24, rng)
            for reward in ("math", "judge"):
                client.post("/v1/score", json={"reward": reward, "items": batch}).raise_for_status()
            if stop.is_set():
                return


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("health-demo"))
    parser.add_argument("--rounds", type=int, default=16, help="batches of traffic")
    parser.add_argument("--snapshots", type=int, default=6)
    parser.add_argument("--every", type=float, default=10.0)
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    model = opts.out / "tiny-judge"
    if not model.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "make_tiny_judge_model.py"), str(model)],
            check=True,
        )
    (opts.out / "config.yaml").write_text(yaml.safe_dump(config(model)))
    env = {
        "REWARDGYM_AUDIT_PER_MINUTE": "60",
        "REWARDGYM_HEALTH_WINDOW": "120",  # small windows: the demo's drift shows in minutes
        "REWARDGYM_CACHE_DIR": str(opts.out / "ledger"),
    }
    with running_server("--config", str(opts.out / "config.yaml"), env=env) as url:
        stop = threading.Event()
        pace = opts.snapshots * opts.every / opts.rounds  # the traffic spans the snapshots
        sender = threading.Thread(target=traffic, args=(url, opts.rounds, pace, stop))
        sender.start()
        time.sleep(2)
        snapshots = ["--snapshots", str(opts.snapshots), "--every", str(opts.every)]
        health = ["health", "--url", url, "--plots", str(opts.out), *snapshots]
        subprocess.run([sys.executable, "-m", "rewardgym", *health], check=True)
        stop.set()
        sender.join()


if __name__ == "__main__":
    main()
