"""The judge evaluation harness: loaders and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardgym.evals.judge import LabelledPair, load_pairs, report
from rewardgym.schema import Error, ErrorType, Preference, Result
from tests.conftest import shared_path


def test_llmbar_files_load():
    pairs = load_pairs(shared_path("data/llmbar/Natural.json"))
    assert len(pairs) > 50
    assert {p.better for p in pairs} == {0, 1}
    assert all(len(p.responses) == 2 and p.prompt for p in pairs)


def test_jsonl_loaders_and_clear_errors(tmp_path: Path):
    good = tmp_path / "pairs.jsonl"
    good.write_text(
        '{"prompt": "p", "chosen": "c", "rejected": "r"}\n\n'
        '{"prompt": "p", "response_a": "a", "response_b": "b", "label": "B"}\n'
    )
    pairs = load_pairs(good)
    assert [(p.responses, p.better) for p in pairs] == [(("c", "r"), 0), (("a", "b"), 1)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "p"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: expected LLMBar fields"):
        load_pairs(bad)


def _result(winner: object, consistent: bool | None, ranking: list[int]) -> Result:
    return Result(
        score=0.5,
        latency_ms=10.0,
        metadata={"winner": winner},
        preference=Preference(ranking=ranking, probabilities=[0.5, 0.5], consistent=consistent),
    )


def test_report_figures():
    pairs = [LabelledPair("p", ("a", "b"), better) for better in (0, 1, 0, 1, 0)]
    results = [
        _result(0, True, [0, 1]),  # right
        _result(0, True, [0, 1]),  # wrong
        _result("tie", False, [0, 1]),  # half
        Result(error=Error(type=ErrorType.JUDGE_PARSE_ERROR, message="x")),
        Result(error=Error(type=ErrorType.TIMEOUT, message="x")),
    ]
    figures = report(pairs, results)
    assert figures.pairs == 5 and figures.judged == 3
    assert figures.accuracy == pytest.approx(1.5 / 3)
    assert figures.position_consistency == pytest.approx(2 / 3)
    assert figures.tie_rate == pytest.approx(1 / 3)
    assert figures.parse_error_rate == pytest.approx(0.2)
    assert figures.other_error_rate == pytest.approx(0.2)
