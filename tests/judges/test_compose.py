"""Composite rewards: weighted, gate, vector, formula; component failures stay visible."""

from __future__ import annotations

from typing import Any

import pytest

from rewardgym.errors import ConfigError
from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Basis, ErrorType, Format, Item, Result, RewardSpec

BASE = [
    RewardSpec(name="exact", type="string_check", params={"operation": "eq"}),
    RewardSpec(name="tags", type="format", params={"tags": ["answer"]}),
    RewardSpec(name="short", type="length", params={"unit": "words", "max": 3}),
]


async def score(spec: dict[str, Any], *items: Item, specs: list[RewardSpec] = BASE) -> list[Result]:
    reward = RewardRegistry(specs).resolve(RewardSpec.model_validate(spec))
    return await reward.score(list(items), ScoreContext())


GOOD = Item(response="<answer>4</answer>", reference="<answer>4</answer>")
BAD = Item(response="four, I believe, after long thought", reference="<answer>4</answer>")


async def test_weighted_sum_with_sub_scores():
    spec = {
        "type": "weighted",
        "params": {
            "components": [
                {"reward": "exact", "weight": 0.7},
                {"reward": "tags", "weight": 0.2},
                {"reward": "short", "weight": 0.1},
            ]
        },
    }
    good, bad = await score(spec, GOOD, BAD)
    assert good.score == pytest.approx(1.0)
    assert good.scores == {"exact": 1.0, "tags": 1.0, "short": 1.0}
    assert bad.score == pytest.approx(0.0)
    assert bad.scores == {"exact": 0.0, "tags": 0.0, "short": 0.0}


async def test_weighted_normalize_and_inline_component_with_its_own_weight():
    spec = {
        "type": "weighted",
        "params": {
            "normalize": True,
            "components": [
                {"reward": "exact", "weight": 3},
                {
                    "reward": {
                        "name": "has4",
                        "type": "string_check",
                        "weight": 1,
                        "params": {"operation": "contains", "reference": "4"},
                    }
                },
            ],
        },
    }
    [result] = await score(spec, Item(response="4", reference="5"))
    assert result.score == pytest.approx(0.25)
    assert result.scores == {"exact": 0.0, "has4": 1.0}


async def test_gate_scores_only_when_the_gate_passes():
    spec = {"type": "gate", "params": {"gate": "tags", "reward": "short", "otherwise": -1}}
    passing, failing = await score(spec, GOOD, BAD)
    assert passing.score == 1.0 and passing.scores == {"gate": 1.0, "reward": 1.0}
    assert failing.score == -1.0 and failing.scores == {"gate": 0.0}


async def test_vector_reports_each_objective():
    spec = {
        "type": "vector",
        "params": {"scalarize": "min", "components": [{"reward": "tags"}, {"reward": "short"}]},
    }
    reward = RewardRegistry(BASE).resolve(RewardSpec.model_validate(spec))
    assert reward.taxonomy.format == Format.VECTOR and reward.taxonomy.basis == Basis.RULE
    [result] = await reward.score([Item(response="<answer>a b c d e</answer>")], ScoreContext())
    assert result.scores == {"tags": 1.0, "short": pytest.approx(0.0)}
    assert result.score == pytest.approx(0.0)


async def test_formula_over_components():
    spec = {
        "type": "formula",
        "params": {
            "expression": "0.5 * exact + 0.5 * min(tags, short)",
            "components": [{"reward": "exact"}, {"reward": "tags"}, {"reward": "short"}],
        },
    }
    [result] = await score(spec, Item(response="<answer>4</answer>", reference="x"))
    assert result.score == pytest.approx(0.5)


def test_formula_with_unknown_variable_is_a_config_error():
    spec = {
        "type": "formula",
        "params": {"expression": "exact + nope", "components": [{"reward": "exact"}]},
    }
    with pytest.raises(ConfigError, match="nope"):
        RewardRegistry(BASE).resolve(RewardSpec.model_validate(spec))


async def test_a_failed_component_fails_the_item_and_names_the_component():
    spec = {"type": "weighted", "params": {"components": [{"reward": "exact"}, {"reward": "tags"}]}}
    [result] = await score(spec, Item(response="<answer>4</answer>"))  # no reference
    assert result.score is None
    assert result.error is not None and result.error.type == ErrorType.INVALID_INPUT
    assert "component 'exact' failed" in result.error.message
    assert result.scores == {"exact": None, "tags": 1.0}


async def test_a_component_on_error_value_stands_in_for_it():
    specs = [*BASE, RewardSpec(name="exact_or_0", type="string_check", on_error=0.0)]
    spec = {
        "type": "weighted",
        "params": {"components": [{"reward": "exact_or_0"}, {"reward": "tags"}]},
    }
    [result] = await score(spec, Item(response="<answer>4</answer>"), specs=specs)
    assert result.error is None and result.score == 1.0


def test_cycles_and_unknown_components_are_config_errors():
    loop = [
        RewardSpec(name="a", type="weighted", params={"components": [{"reward": "b"}]}),
        RewardSpec(name="b", type="weighted", params={"components": [{"reward": "a"}]}),
    ]
    with pytest.raises(ConfigError, match="refers to itself"):
        RewardRegistry(loop)
    with pytest.raises(Exception, match="unknown reward 'missing'"):
        RewardRegistry(
            [RewardSpec(name="w", type="weighted", params={"components": [{"reward": "missing"}]})]
        )


async def test_a_failing_gate_is_an_item_error_naming_the_gate():
    specs = [*BASE, RewardSpec(name="needs_ref", type="string_check", params={"operation": "eq"})]
    spec = {"type": "gate", "params": {"gate": "needs_ref", "reward": "short"}}
    [result] = await score(spec, Item(response="a"), specs=specs)
    assert result.score is None
    assert result.error is not None and "component 'gate' failed" in result.error.message
