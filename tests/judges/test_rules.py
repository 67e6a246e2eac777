"""Rule rewards in process: string_check, format, json, length, repetition, text_similarity."""

from __future__ import annotations

from typing import Any

import pytest

from rewardgym.errors import ConfigError
from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, Result, RewardSpec


async def score(type_: str, params: dict[str, Any], *items: Item) -> list[Result]:
    reward = RewardRegistry([]).resolve(RewardSpec(type=type_, params=params))
    return await reward.score(list(items), ScoreContext())


def item(response: str, reference: Any = None) -> Item:
    return Item(prompt="q", response=response, reference=reference)


@pytest.mark.parametrize(
    ("op", "response", "reference", "expected"),
    [
        ("eq", "Paris", "Paris", 1.0),
        ("eq", "paris", "Paris", 0.0),
        ("ne", "Lyon", "Paris", 1.0),
        ("ne", "Paris", "Paris", 0.0),
        ("contains", "It is Paris.", "Paris", 1.0),
        ("contains", "It is paris.", "Paris", 0.0),
        ("icontains", "It is PARIS.", "paris", 1.0),
        ("regex", "answer: 42", r"answer:\s*\d+", 1.0),
        ("regex", "answer: x", r"answer:\s*\d+", 0.0),
    ],
)
async def test_string_check_operations(op: str, response: str, reference: str, expected: float):
    [result] = await score("string_check", {"operation": op}, item(response, reference))
    assert result.error is None
    assert result.score == expected


async def test_string_check_normalisation_and_several_references():
    params = {
        "operation": "eq",
        "lowercase": True,
        "remove_punctuation": True,
        "collapse_whitespace": True,
    }
    results = await score(
        "string_check",
        params,
        item("  The   Eiffel tower! ", ["x", "the eiffel tower"]),
        item("Eiffel", ["x", "the eiffel tower"]),
    )
    assert [r.score for r in results] == [1.0, 0.0]


async def test_string_check_extracts_the_answer_tag():
    params = {"operation": "eq", "extract": "<answer>(.*?)</answer>", "strip": True}
    results = await score(
        "string_check",
        params,
        item("<think>hm</think><answer> 7 </answer>", "7"),
        item("no tags here: 7", "7"),
    )
    assert [r.score for r in results] == [1.0, 0.0]
    assert results[1].metadata == {"extracted": None}


async def test_string_check_without_reference_is_an_item_error_not_zero():
    [result] = await score("string_check", {"operation": "eq"}, item("x"))
    assert result.score is None
    assert result.error is not None and result.error.type == ErrorType.INVALID_INPUT


async def test_catastrophic_regex_runs_in_linear_time():
    """RE2: a pattern that backtracks exponentially elsewhere answers at once here."""
    params = {"operation": "regex"}
    results = await score(
        "string_check",
        params,
        item("a" * 40 + "!", r"^(a|a)*$"),
        item("a" * 100_000 + "!", r"^(a|aa)+$"),
        item("abc", "b"),
    )
    assert [r.score for r in results] == [0.0, 0.0, 1.0]


async def test_a_pattern_re2_cannot_run_is_that_items_invalid_input():
    params = {"operation": "regex"}
    results = await score("string_check", params, item("aa", r"(a)\1"), item("abc", "b"))
    assert results[0].error is not None and results[0].error.type == ErrorType.INVALID_INPUT
    assert "back-references" in results[0].error.message
    assert results[1].score == 1.0


def test_invalid_regex_is_a_config_error():
    with pytest.raises(ConfigError, match="invalid regular expression"):
        RewardRegistry([]).resolve(RewardSpec(type="string_check", params={"extract": "(unclosed"}))


def test_unknown_param_is_rejected_with_the_allowed_ones():
    with pytest.raises(ConfigError) as info:
        RewardRegistry([]).resolve(RewardSpec(type="string_check", params={"operaton": "eq"}))
    assert "operation" in info.value.detail["allowed"]


async def test_format_think_answer():
    params = {
        "pattern": r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*",
        "tags": ["think", "answer"],
    }
    good = item("<think>reason</think>\n<answer>4</answer>")
    swapped = item("<answer>4</answer><think>reason</think>")
    doubled = item("<think>a</think><answer>4</answer><answer>5</answer>")
    missing = item("just 4")
    results = await score("format", params, good, swapped, doubled, missing)
    assert [r.score for r in results] == [1.0, 0.0, 0.0, 0.0]
    assert results[0].scores == {"pattern": 1.0, "tag:think": 1.0, "tag:answer": 1.0}


async def test_format_partial_credit():
    params = {"tags": ["think", "answer"], "partial_credit": True}
    [result] = await score("format", params, item("<think>x</think> 4"))
    assert result.score == 0.5


def test_format_needs_a_check():
    with pytest.raises(ConfigError):
        RewardRegistry([]).resolve(RewardSpec(type="format", params={}))


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


async def test_json_parses_and_validates():
    results = await score(
        "json",
        {"schema": SCHEMA},
        item('{"name": "Ada", "age": 36}'),
        item('```json\n{"name": "Ada", "age": 36}\n```'),
        item('{"name": "Ada", "age": -1}'),
        item("{not json"),
    )
    assert [r.score for r in results] == [1.0, 1.0, 0.0, 0.0]
    assert results[2].metadata["schema_errors"] == ["age: -1 is less than the minimum of 0"]
    assert "parse_error" in results[3].metadata


async def test_json_partial_credit_is_between_zero_and_one():
    [result] = await score(
        "json", {"schema": SCHEMA, "partial_credit": True}, item('{"name": "Ada", "age": -1}')
    )
    assert result.score is not None and 0.0 < result.score < 1.0


def test_json_rejects_an_invalid_schema():
    with pytest.raises(ConfigError, match="invalid JSON Schema"):
        RewardRegistry([]).resolve(RewardSpec(type="json", params={"schema": {"type": 5}}))


@pytest.mark.parametrize(
    ("words", "expected"), [(3, 0.0), (5, 1.0), (10, 1.0), (12, 0.5), (14, 0.0)]
)
async def test_length_range_and_soft_overlong_penalty(words: int, expected: float):
    params = {"unit": "words", "min": 5, "max": 10, "overlong_buffer": 4}
    [result] = await score("length", params, item(" ".join(["w"] * words)))
    assert result.score == pytest.approx(expected)
    assert result.metadata["length"] == words


async def test_repetition_penalises_loops():
    varied = item("the quick brown fox jumps over the lazy dog")
    looped = item("I think so. " * 20)
    results = await score("repetition", {"n": 3}, varied, looped)
    assert results[0].score == 1.0
    assert results[1].score is not None and results[1].score < 0.2


@pytest.mark.parametrize(
    "metric",
    [
        "fuzzy_ratio",
        "fuzzy_partial",
        "fuzzy_token_set",
        "bleu",
        "chrf",
        "rouge1",
        "rouge2",
        "rougeL",
    ],
)
async def test_text_similarity_orders_close_above_far(metric: str):
    ref = "the cat sat on the mat near the door"
    results = await score(
        "text_similarity",
        {"metric": metric},
        item(ref, ref),
        item("the cat sat on a mat near a door", ref),
        item("quantum chromodynamics lecture notes", ref),
    )
    same, close, far = (r.score for r in results)
    assert same == pytest.approx(1.0)
    assert same >= close > far  # type: ignore[operator]
    assert 0.0 <= far <= 1.0  # type: ignore[operator]


async def test_text_similarity_threshold_and_best_reference():
    params = {"metric": "fuzzy_ratio", "threshold": 0.9}
    [result] = await score("text_similarity", params, item("hello world", ["bye", "hello world!"]))
    assert result.score == 1.0
    assert result.scores["fuzzy_ratio"] == pytest.approx(0.9565, abs=1e-3)


async def test_a_non_finite_score_becomes_an_error_fault_injection():
    """Fault injection: a reward that returns NaN must not pass it off as a score."""
    from rewardgym.judges.sync_rule import SyncRule
    from rewardgym.schema import Basis, Taxonomy

    class NanReward(SyncRule):
        type_id = "nan"
        taxonomy = Taxonomy(basis=Basis.RULE)

        def compute(self, item: Item) -> float:
            return float("nan")

    reward = NanReward(RewardSpec(type="nan"), RewardRegistry([]))
    [result] = await reward.score([item("x")], ScoreContext())
    assert result.score is None
    assert result.error is not None and result.error.type == ErrorType.INTERNAL


def test_reasoning_gym_answer_extraction():
    from rewardgym.judges.rules.reasoning_gym_rule import extract_answer

    text = "Thinking... <answer> 1 </answer> no, <answer>-4</answer>"
    assert extract_answer(text) == "-4"
    assert extract_answer("so \\boxed{\\frac{1}{2}} done") == "\\frac{1}{2}"
    assert extract_answer("work\nFinal answer: 12\n") == "12"
    assert extract_answer("work\n\n  7  \n") == "7"
    assert extract_answer("no tag here", "answer_tag") is None
    assert extract_answer(" raw ", "none") == "raw"


def test_rouge_computed_here_equals_google_rouge_score():
    """Our ROUGE (no NLTK in the core install) against rouge-score itself (a dev dependency),
    on random texts with shared words, punctuation, case, digits and non-ASCII letters."""
    import random

    from rouge_score import rouge_scorer

    from rewardgym.judges.rules.rouge import rouge_f1

    rng = random.Random(7)
    words = ["the", "cat", "Sat", "on", "mat", "42", "dog's", "é", "naïve", "a-b", "!!", "x1"]
    metrics = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(metrics), use_stemmer=False)
    for _ in range(300):
        target = " ".join(rng.choices(words, k=rng.randint(0, 12)))
        prediction = " ".join(rng.choices(words, k=rng.randint(0, 12)))
        theirs = scorer.score(target, prediction)
        for metric in metrics:
            ours = rouge_f1(metric, target, prediction)
            assert ours == pytest.approx(theirs[metric].fmeasure, abs=1e-12), (
                metric,
                target,
                prediction,
            )
