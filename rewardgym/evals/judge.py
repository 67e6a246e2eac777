"""Measure a pairwise judge the way RewardBench and JudgeBench do.

Pairwise accuracy against labels (a tie earns half), position consistency (share of judged
pairs whose verdict survives swapping the order), tie rate, parse-error rate, other-error rate
and latency. Data: LLMBar-style JSON (``input, output_1, output_2, label``) or JSONL pairs
(``prompt, chosen, rejected`` or ``prompt, response_a, response_b, label``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rewardgym.schema import CompareItem, ErrorType, Result

__all__ = ["JudgeReport", "LabelledPair", "load_pairs", "report"]


@dataclass(frozen=True)
class LabelledPair:
    """Two responses to one prompt; ``better`` is the index (0 or 1) of the better one."""

    prompt: str
    responses: tuple[str, str]
    better: int

    def item(self) -> CompareItem:
        return CompareItem(prompt=self.prompt, responses=list(self.responses))


def _from_row(row: dict[str, Any], where: str) -> LabelledPair:
    if {"input", "output_1", "output_2", "label"} <= row.keys():  # LLMBar
        return LabelledPair(row["input"], (row["output_1"], row["output_2"]), int(row["label"]) - 1)
    if {"prompt", "chosen", "rejected"} <= row.keys():
        return LabelledPair(row["prompt"], (row["chosen"], row["rejected"]), 0)
    if {"prompt", "response_a", "response_b", "label"} <= row.keys():
        label = str(row["label"]).strip().upper()
        better = {"A": 0, "1": 0, "B": 1, "2": 1}.get(label)
        if better is None:
            raise ValueError(f"{where}: label {row['label']!r} is not A/B or 1/2")
        return LabelledPair(row["prompt"], (row["response_a"], row["response_b"]), better)
    raise ValueError(
        f"{where}: expected LLMBar fields (input, output_1, output_2, label), or prompt with "
        f"chosen/rejected or response_a/response_b/label; got {sorted(row)}"
    )


def load_pairs(path: Path) -> list[LabelledPair]:
    """Read a JSON list (LLMBar) or a JSONL file of labelled pairs."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return [_from_row(row, f"{path}[{i}]") for i, row in enumerate(json.loads(text))]
    return [
        _from_row(json.loads(line), f"{path}:{n}")
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


@dataclass
class JudgeReport:
    """The figures of one evaluation."""

    pairs: int
    judged: int
    accuracy: float | None
    position_consistency: float | None
    tie_rate: float | None
    parse_error_rate: float
    other_error_rate: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """Gold (``A better``, ``B better``) against the verdict (``A``, ``B``, ``tie``,
    ``failed``), counted."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def figures(self) -> dict[str, float | None]:
        """The scalar figures (everything but the confusion counts)."""
        return {k: v for k, v in self.to_dict().items() if k != "confusion"}


def report(pairs: Sequence[LabelledPair], results: Sequence[Result]) -> JudgeReport:
    """Score judge results (one per pair, in order) against the labels."""
    judged = [
        (p, r)
        for p, r in zip(pairs, results, strict=True)
        if r.error is None and r.preference is not None
    ]
    n = len(pairs)
    parse_errors = sum(
        1 for r in results if r.error is not None and r.error.type == ErrorType.JUDGE_PARSE_ERROR
    )
    other_errors = sum(1 for r in results if r.error is not None) - parse_errors

    def credit(pair: LabelledPair, result: Result) -> float:
        winner = result.metadata.get("winner")
        if winner == "tie":
            return 0.5
        assert result.preference is not None
        return float(result.preference.ranking[0] == pair.better)

    def share(pred: Callable[[Result], bool], of: Sequence[Result]) -> float | None:
        return sum(pred(r) for r in of) / len(of) if of else None

    swapped = [r for _, r in judged if r.preference and r.preference.consistent is not None]
    latencies = sorted(r.latency_ms for r in results)
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else latencies * 19
    confusion = {gold: dict.fromkeys(("A", "B", "tie", "failed"), 0) for gold in GOLD}
    for pair, result in zip(pairs, results, strict=True):
        confusion[GOLD[pair.better]][_verdict(result)] += 1
    return JudgeReport(
        pairs=n,
        judged=len(judged),
        accuracy=sum(credit(p, r) for p, r in judged) / len(judged) if judged else None,
        position_consistency=share(
            lambda r: bool(r.preference and r.preference.consistent), swapped
        ),
        tie_rate=share(lambda r: r.metadata.get("winner") == "tie", [r for _, r in judged]),
        parse_error_rate=parse_errors / n if n else 0.0,
        other_error_rate=other_errors / n if n else 0.0,
        latency_ms_p50=q[9] if q else None,
        latency_ms_p95=q[18] if q else None,
        confusion=confusion,
    )


GOLD = ("A better", "B better")


def _verdict(result: Result) -> str:
    if result.error is not None or result.preference is None:
        return "failed"
    if result.metadata.get("winner") == "tie":
        return "tie"
    return "AB"[result.preference.ranking[0]]
