#!/usr/bin/env python3
"""Attack load: how hostile requests affect normal traffic on a real server on loopback.

A real ``rewardgym serve`` (API keys on, tests/data/test_config.yaml) gets two phases back to
back, each ``--duration`` seconds: (a) normal load only, at ``--rate`` requests/s; (b) the
same normal load plus hostile requests at ``--hostile-rate`` requests/s. Both streams are open
loop (request k is sent at start + k / rate whatever happened to the earlier ones), so a
server slowed down by hostile traffic shows up as latency on the normal requests.

Normal requests cycle through math x8, exact_match x32 and think_answer_format x8. Hostile
requests (all with the valid key) cycle through specs the server must refuse (403 for host
parameters, 422 for bad input) or answer cheaply (regexes that backtrack exponentially in a
backtracking engine, huge JSON Schema checks, invalid references). Reported per phase:
normal requests, errors (non-200), latency p50/p95/p99; hostile requests by status code and by
kind, 5xx (must be 0); server RSS (with its workers) at the start and end. Then one summary
line with the ratio p99 with hostile / p99 normal only (goal <= 2).

Exit status 0 whatever the figures; 1 only when the server fails to start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

try:
    from bench._server import start_server_process
    from bench.load_test import pct, rss_mb
except ImportError:  # run as a script: bench/ is on sys.path
    from _server import start_server_process  # type: ignore[no-redef]
    from load_test import pct, rss_mb  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests/data/test_config.yaml"
GOAL_RATIO = 2.0
NORMAL_TIMEOUT_S = 60.0
HOSTILE_TIMEOUT_S = 30.0

console = Console()


# --- normal traffic ---------------------------------------------------------------------------


def _normal_items(reward: str, n: int, k: int) -> list[dict[str, Any]]:
    if reward == "math":
        return [
            {
                "prompt": f"{k % 50}+{i}?",
                "response": rf"\boxed{{{k % 50 + i}}}",
                "reference": str(k % 50 + i),
            }
            for i in range(n)
        ]
    if reward == "exact_match":
        return [
            {"prompt": f"Capital {k}-{i}?", "response": f"City {i % 7}.", "reference": f"city {i}"}
            for i in range(n)
        ]
    return [
        {
            "prompt": f"Question {k}-{i}?",
            "response": f"<think>step {i}</think><answer>{(k * i) % 5}</answer>",
        }
        for i in range(n)
    ]


# (kind label, reward name, items per request)
NORMAL_MIX: list[tuple[str, str, int]] = [
    ("math x8", "math", 8),
    ("exact x32", "exact_match", 32),
    ("format x8", "think_answer_format", 8),
]


def normal_body(k: int) -> tuple[str, dict[str, Any]]:
    label, reward, n = NORMAL_MIX[k % len(NORMAL_MIX)]
    return label, {"reward": reward, "items": _normal_items(reward, n, k)}


# --- hostile traffic --------------------------------------------------------------------------


def _score(reward: Any, items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"reward": reward, "items": items}).encode()


def _nested_weighted(depth: int) -> dict[str, Any]:
    component: dict[str, Any] = {"reward": "math"}
    for _ in range(depth):
        component = {"reward": {"type": "weighted", "params": {"components": [component]}}}
    reward: dict[str, Any] = component["reward"]
    return reward


def _regex(pattern: str) -> dict[str, Any]:
    return {"type": "string_check", "params": {"operation": "regex", "reference": pattern}}


def _all_scores_zero(body: Any) -> bool:
    return all(r.get("score") == 0 and not r.get("error") for r in body["results"])


def _item_error(kind: str) -> Callable[[Any], bool]:
    return lambda body: all((r.get("error") or {}).get("type") == kind for r in body["results"])


def _no_error_or_timeout(body: Any) -> bool:
    return all((r.get("error") or {}).get("type") in (None, "timeout") for r in body["results"])


@dataclass(frozen=True)
class Hostile:
    """One kind of hostile request: how to build its body, and what answers are fine."""

    label: str
    build: Callable[[random.Random], bytes]
    expect: frozenset[int]
    check_200: Callable[[Any], bool] | None = None  # on a 200: does the body look right?


_ARRAY_3000 = json.dumps([{"i": i, "s": f"v{i}"} for i in range(3000)])

HOSTILE: list[Hostile] = [
    Hostile(
        "code sandbox=none",
        lambda _: _score(
            {"type": "code", "params": {"sandbox": "none"}},
            [{"response": "print(1)", "reference": "1"}],
        ),
        frozenset({403}),
    ),
    Hostile(
        "math workers=40",
        lambda _: _score(
            {"type": "math", "params": {"workers": 40}},
            [{"response": r"\boxed{2}", "reference": "2"}],
        ),
        frozenset({403}),
    ),
    Hostile(
        "judge own backend",
        lambda _: _score(
            {
                "type": "pointwise",
                "params": {
                    "backend": {
                        "base_url": "http://127.0.0.1:9/v1",
                        "model": "x",
                        "api_key_env": "REWARDGYM_API_KEYS",
                    }
                },
            },
            [{"prompt": "hi", "response": "hello"}],
        ),
        frozenset({403}),
    ),
    Hostile(
        "regex (a|aa)+b x20",
        lambda _: _score(_regex("(a|aa)+b"), [{"response": "a" * 30}] * 20),
        frozenset({200}),
        _all_scores_zero,
    ),
    Hostile(
        "regex (a|aa)+b x2000",
        lambda _: _score(_regex("(a|aa)+b"), [{"response": "a" * 200}] * 2000),
        frozenset({200}),
        _all_scores_zero,
    ),
    Hostile(
        "regex (?:a{65535}){65535}",
        lambda _: _score(_regex("(?:a{65535}){65535}"), [{"response": "a"}]),
        frozenset({422}),
    ),
    Hostile(
        "regex (x{N}|y)+z random",
        lambda rng: _score(
            _regex(f"(x{{{rng.randint(1, 2_000)}}}|y)+z"), [{"response": "xy" * 50}] * 4
        ),
        frozenset({200, 422}),
    ),
    Hostile(
        "weighted 200 deep",
        lambda _: _score(_nested_weighted(200), [{"response": r"\boxed{2}", "reference": "2"}]),
        frozenset({422}),
    ),
    Hostile(
        "formula -*1998 m",
        lambda _: _score(
            {
                "type": "formula",
                "params": {
                    "expression": "-" * 1998 + "m",
                    "components": [{"reward": "math", "name": "m"}],
                },
            },
            [{"response": r"\boxed{2}", "reference": "2"}],
        ),
        frozenset({422}),
    ),
    Hostile(
        "lone surrogate",
        # json.dumps would escape the backslash: write the body by hand
        lambda _: b'{"reward": "math", "items": [{"response": "\\ud800", "reference": "2"}]}',
        frozenset({422}),
    ),
    Hostile(
        "math reference list",
        lambda _: _score("math", [{"response": r"\boxed{2}", "reference": ["2", "3"]}]),
        frozenset({200}),
        _item_error("invalid_input"),
    ),
    Hostile(
        "json uniqueItems x3000",
        lambda _: _score(
            {"type": "json", "params": {"schema": {"type": "array", "uniqueItems": True}}},
            [{"response": _ARRAY_3000}],
        ),
        frozenset({200}),
        _no_error_or_timeout,
    ),
]


# --- one phase ------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    item_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hostile_status: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    hostile_latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # hostile answers worth a look: (kind, what came back) -> (count, one example request)
    unexpected: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    rss_start: float = 0.0
    rss_end: float = 0.0
    wall: float = 0.0

    @property
    def normal(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]

    @property
    def hostile_by_status(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.hostile_status.values():
            total.update(counts)
        return total

    @property
    def hostile_5xx(self) -> int:
        return sum(n for code, n in self.hostile_by_status.items() if code.startswith("5"))


async def run_phase(
    name: str,
    url: str,
    key: str,
    rate: float,
    hostile_rate: float,
    duration: float,
    pid: int,
    rng: random.Random,
) -> PhaseResult:
    """Normal requests at ``rate`` (and hostile ones at ``hostile_rate``) for ``duration`` s."""
    result = PhaseResult(name)
    n_normal = int(rate * duration)
    n_hostile = int(hostile_rate * duration)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=NORMAL_TIMEOUT_S) as normal,
        # a separate connection pool: hostile requests never hold a normal one's connection
        httpx.AsyncClient(
            base_url=url, headers=headers, timeout=HOSTILE_TIMEOUT_S, limits=limits
        ) as hostile,
    ):

        async def one_normal(k: int) -> None:
            label, body = normal_body(k)
            started = time.perf_counter()
            try:
                response = await normal.post("/v1/score", json=body)
                ok = response.status_code == 200
                results = response.json()["results"] if ok else []
                if not ok and not result.errors[label]:
                    console.print(
                        f"[red]{name} {label}: HTTP {response.status_code} {response.text[:300]}"
                    )
            except Exception as exc:  # counted, and shown once
                ok, results = False, []
                if not result.errors[label]:
                    console.print(f"[red]{name} {label}: {type(exc).__name__}: {exc}")
            result.latencies[label].append(time.perf_counter() - started)
            if not ok:
                result.errors[label] += 1
            elif any(r.get("error") for r in results):
                result.item_errors[label] += 1

        async def one_hostile(j: int) -> None:
            kind = HOSTILE[j % len(HOSTILE)]
            content = kind.build(rng)
            started = time.perf_counter()
            note, detail = "", ""
            try:
                response = await hostile.post(
                    "/v1/score", content=content, headers={"Content-Type": "application/json"}
                )
                status = str(response.status_code)
                if response.status_code not in kind.expect:
                    note, detail = f"HTTP {status}", response.text[:300]
                elif response.status_code == 200 and kind.check_200 is not None:
                    try:
                        good = kind.check_200(response.json())
                    except (ValueError, KeyError, TypeError):
                        good = False
                    if not good:
                        note, detail = "HTTP 200, unexpected body", response.text[:300]
            except httpx.TimeoutException as exc:  # a hang: counted by its name
                status = type(exc).__name__
                note = f"{status} (no answer in {HOSTILE_TIMEOUT_S:g} s)"
            except Exception as exc:  # a dropped connection: counted by its name
                status = type(exc).__name__
                note, detail = status, str(exc)
            result.hostile_latencies[kind.label].append(time.perf_counter() - started)
            result.hostile_status[kind.label][status] += 1
            if note:
                seen = result.unexpected.setdefault((kind.label, note), [0, content, detail])
                seen[0] += 1

        tasks: list[asyncio.Task[None]] = []
        # one merged schedule: (send time offset, is_hostile, index)
        schedule = sorted(
            [(k / rate, False, k) for k in range(n_normal)]
            + [(j / hostile_rate, True, j) for j in range(n_hostile)]
        )
        result.rss_start = rss_mb(pid)
        with Progress(
            TextColumn(name),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} sent"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            bar = progress.add_task(name, total=len(schedule))
            start = time.perf_counter()
            for offset, is_hostile, index in schedule:
                delay = start + offset - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                coro = one_hostile(index) if is_hostile else one_normal(index)
                tasks.append(asyncio.create_task(coro))
                progress.advance(bar)
            # every request has its own client timeout, so this ends; the bound is a backstop
            _done, pending = await asyncio.wait(
                tasks, timeout=max(NORMAL_TIMEOUT_S, HOSTILE_TIMEOUT_S) + 30
            )
            for task in pending:
                task.cancel()
            if pending:
                result.unexpected[("any", "still open at the end: hang")] = [len(pending), b"", ""]
            result.wall = time.perf_counter() - start
        result.rss_end = rss_mb(pid)
    return result


# --- report -----------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> str:
    return f"{pct(values, q):.1f}" if values else "-"


def report(phases: list[PhaseResult], opts: argparse.Namespace, out: Console) -> None:
    normal_table = Table(
        title=f"normal requests: {opts.duration:g} s per phase at {opts.rate:g}/s "
        f"(hostile {opts.hostile_rate:g}/s in phase b)"
    )
    for col in ("phase", "kind", "requests", "errors", "item errors", "p50 ms", "p95 ms", "p99 ms"):
        normal_table.add_column(col, justify="left" if col in ("phase", "kind") else "right")
    for phase in phases:
        for label, *_ in NORMAL_MIX:
            values = phase.latencies[label]
            normal_table.add_row(
                phase.name,
                label,
                str(len(values)),
                str(phase.errors[label]),
                str(phase.item_errors[label]),
                _ms(values, 0.5),
                _ms(values, 0.95),
                _ms(values, 0.99),
            )
        everything = phase.normal
        normal_table.add_row(
            phase.name,
            "all",
            str(len(everything)),
            str(sum(phase.errors.values())),
            str(sum(phase.item_errors.values())),
            _ms(everything, 0.5),
            _ms(everything, 0.95),
            _ms(everything, 0.99),
            style="bold",
        )
    out.print(normal_table)

    with_hostile = [p for p in phases if p.hostile_status]
    if with_hostile:
        hostile_table = Table(title="hostile requests")
        for col in ("phase", "kind", "expected", "status counts", "p50 ms", "max ms"):
            hostile_table.add_column(col, justify="right" if col.endswith("ms") else "left")
        for phase in with_hostile:
            for kind in HOSTILE:
                counts = phase.hostile_status.get(kind.label)
                if not counts:
                    continue
                values = phase.hostile_latencies[kind.label]
                hostile_table.add_row(
                    phase.name,
                    kind.label,
                    "/".join(str(c) for c in sorted(kind.expect)),
                    ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())),
                    _ms(values, 0.5),
                    f"{max(values) * 1000:.1f}",
                )
        out.print(hostile_table)

    for phase in phases:
        statuses = ", ".join(f"{c}: {n}" for c, n in sorted(phase.hostile_by_status.items()))
        out.print(
            f"phase {phase.name}: {len(phase.normal)} normal requests, "
            f"{sum(phase.errors.values())} errors, "
            f"p50/p95/p99 {_ms(phase.normal, 0.5)}/{_ms(phase.normal, 0.95)}/"
            f"{_ms(phase.normal, 0.99)} ms; "
            f"hostile {sum(phase.hostile_by_status.values())} ({statuses or 'none'}), "
            f"5xx: {phase.hostile_5xx}; "
            f"RSS {phase.rss_start:.0f} -> {phase.rss_end:.0f} MiB; wall {phase.wall:.1f} s",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        for (label, note), (count, content, detail) in phase.unexpected.items():
            request = content[:160].decode("utf-8", "replace")
            out.print(
                f"  unexpected: {label}: {note} x{count}"
                + (f": {detail}" if detail else "")
                + (f"; request ({len(content)} bytes): {request}..." if content else ""),
                soft_wrap=True,
                markup=False,
                highlight=False,
            )


def summary_line(base: PhaseResult, attacked: PhaseResult) -> str:
    p99_base = pct(base.normal, 0.99) if base.normal else float("nan")
    p99_attacked = pct(attacked.normal, 0.99) if attacked.normal else float("nan")
    ratio = p99_attacked / p99_base if p99_base else float("nan")
    return (
        f"ratio p99 hostile/normal: {ratio:.2f} (goal <= {GOAL_RATIO:g}), "
        f"normal errors: {sum(base.errors.values())}/{sum(attacked.errors.values())}, "
        f"hostile 5xx: {attacked.hostile_5xx}, "
        f"RSS start->end: {base.rss_start:.0f} -> {attacked.rss_end:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example (a 3 s smoke run):\n"
        "  python bench/attack_load.py --duration 3 --rate 10 --hostile-rate 5\n"
        "example (the full run, report saved):\n"
        "  python bench/attack_load.py --duration 60 --out /tmp/attack.txt\n"
        "example (without the JSON Schema kind, to see what the others cost):\n"
        "  python bench/attack_load.py --duration 20 --skip json",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="normal requests per second")
    parser.add_argument(
        "--hostile-rate", type=float, default=10.0, help="hostile requests per second (phase b)"
    )
    parser.add_argument("--config", type=Path, default=CONFIG, help="reward config to serve")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random regexes")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="TEXT",
        help="leave out the hostile kinds whose label contains TEXT (repeatable), e.g. 'json'",
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    opts = parser.parse_args()
    if opts.duration <= 0 or opts.rate <= 0 or opts.hostile_rate <= 0:
        parser.error("--duration, --rate and --hostile-rate must be positive")

    HOSTILE[:] = [k for k in HOSTILE if not any(text in k.label for text in opts.skip)]
    if not HOSTILE:
        parser.error("--skip left no hostile kinds")
    key = secrets.token_urlsafe(24)
    try:
        url, _, process = start_server_process(
            "--config", str(opts.config), env={"REWARDGYM_API_KEYS": key}
        )
    except RuntimeError as exc:
        console.print(f"[red]the server did not start: {exc}")
        sys.exit(1)
    rng = random.Random(opts.seed)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        for k in range(len(NORMAL_MIX)):  # one of each first: RSS at start is warm
            _, body = normal_body(k)
            httpx.post(f"{url}/v1/score", json=body, headers=headers, timeout=60)
        phases = asyncio.run(run_normal_then_hostile(url, key, opts, process.pid, rng))
        healthy = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except Exception:
            process.kill()
    out = Console(record=True, width=max(console.width, 120))
    report(phases, opts, out)
    line = summary_line(phases[0], phases[1])
    out.print(f"server healthy after: {healthy}", markup=False, highlight=False)
    out.print(line, soft_wrap=True, markup=False, highlight=False)
    if opts.out:
        opts.out.write_text(out.export_text())
    sys.exit(0)


async def run_normal_then_hostile(
    url: str, key: str, opts: argparse.Namespace, pid: int, rng: random.Random
) -> list[PhaseResult]:
    base = await run_phase("a: normal", url, key, opts.rate, 0.0, opts.duration, pid, rng)
    attacked = await run_phase(
        "b: +hostile", url, key, opts.rate, opts.hostile_rate, opts.duration, pid, rng
    )
    return [base, attacked]


if __name__ == "__main__":
    main()
