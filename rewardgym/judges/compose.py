"""Composite rewards: ``weighted`` sums, ``gate``, ``vector`` (multi-objective), ``formula``.

Components are named rewards or inline specs; their results appear in ``scores``. A component
that fails makes the item fail (with the component named), unless that component's own
``on_error`` is a fixed value, which then stands in for it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext
from rewardgym.judges.formula import Formula, FormulaError
from rewardgym.on_error import is_fixed, value_of
from rewardgym.schema import Basis, ErrorType, Format, Item, Result, RewardSpec, Taxonomy

if TYPE_CHECKING:
    from rewardgym.judges.base import Resolver

__all__ = ["Component", "FormulaReward", "Gate", "Vector", "Weighted"]


class Component(Params):
    reward: str | RewardSpec
    weight: float | None = Field(default=None, description="default: the spec's weight, or 1")
    name: str | None = Field(default=None, description="key in scores (default: reward name)")


class _Composite(Reward):
    """Shared machinery: resolve components, score them side by side, collect sub-scores."""

    def __init__(self, spec: RewardSpec, resolver: Resolver | None = None) -> None:
        super().__init__(spec, resolver)
        self.parts: list[tuple[str, float, Reward]] = []
        for comp in self._components():
            reward = self.resolver.resolve(comp.reward)
            spec_weight = comp.reward.weight if isinstance(comp.reward, RewardSpec) else None
            weight = comp.weight if comp.weight is not None else (spec_weight or 1.0)
            label = comp.name or reward.name
            if any(label == existing for existing, _, _ in self.parts):
                raise ConfigError(f"reward {self.name!r}: two components are named {label!r}")
            self.parts.append((label, weight, reward))
        bases = {reward.taxonomy.basis for _, _, reward in self.parts}
        basis = bases.pop() if len(bases) == 1 else Basis.HYBRID
        self.taxonomy = Taxonomy(basis=basis, format=self._format)

    _format: Format = Format.SCALAR

    def implementation(self) -> dict[str, Any]:
        """The composite's, with each part's own (a part changed changes the whole)."""
        parts = {label: reward.implementation() for label, _, reward in self.parts}
        return super().implementation() | {"parts": parts}

    def _components(self) -> list[Component]:
        return list(self.params.components)

    async def start(self) -> None:
        await asyncio.gather(*(reward.start() for _, _, reward in self.parts))

    async def _run_parts(self, items: Sequence[Item], ctx: ScoreContext) -> list[list[Result]]:
        return list(await asyncio.gather(*(r.score(items, ctx) for _, _, r in self.parts)))

    @staticmethod
    def _value(label: str, reward: Reward, result: Result) -> float:
        """A component's score, its fixed ``on_error`` value, or a RewardError naming it (a
        component's ``"null"`` or ``"raise"`` fails the composite's item)."""
        policy = reward.spec.on_error if is_fixed(reward.spec.on_error) else "null"
        value = value_of(result, policy)
        if value is not None:
            return value
        err = result.error
        raise RewardError(
            err.type if err else ErrorType.INTERNAL,
            f"component {label!r} failed: {err.message if err else 'no score'}",
            retryable=bool(err and err.retryable),
        )

    def _combine_rows(self, items: Sequence[Item], per_part: list[list[Result]]) -> list[Result]:
        out = []
        for i in range(len(items)):
            row = [results[i] for results in per_part]
            scores: dict[str, float | None] = {
                label: res.score for (label, _, _), res in zip(self.parts, row, strict=True)
            }
            try:
                values = {
                    label: self._value(label, reward, res)
                    for (label, _, reward), res in zip(self.parts, row, strict=True)
                }
                result = Result(score=self.combine(values), scores=scores)
            except RewardError as exc:
                result = Result(error=exc.error, scores=scores)
            out.append(result)
        return out

    def combine(self, values: dict[str, float]) -> float:
        raise NotImplementedError

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        return self._combine_rows(items, await self._run_parts(items, ctx))


class WeightedParams(Params):
    components: list[Component] = Field(min_length=1)
    normalize: bool = Field(default=False, description="divide by the sum of the weights")


class Weighted(_Composite):
    """Sum of weight * component score (optionally normalised by the weights' sum)."""

    type_id = "weighted"
    taxonomy = Taxonomy(basis=Basis.HYBRID)
    Params = WeightedParams
    description = "Weighted sum of component rewards"

    def combine(self, values: dict[str, float]) -> float:
        total = sum(w * values[label] for label, w, _ in self.parts)
        if self.params.normalize:
            weights = sum(abs(w) for _, w, _ in self.parts)
            total = total / weights if weights else 0.0
        return total


class VectorParams(Params):
    components: list[Component] = Field(min_length=1)
    scalarize: Literal["weighted_sum", "mean", "min"] = Field(
        default="mean", description="how `score` summarises the objectives in `scores`"
    )


class Vector(_Composite):
    """Multi-objective: one score per objective in ``scores``; ``score`` summarises them."""

    type_id = "vector"
    taxonomy = Taxonomy(basis=Basis.HYBRID, format=Format.VECTOR)
    Params = VectorParams
    description = "Multi-objective reward: one score per objective"
    _format = Format.VECTOR

    def combine(self, values: dict[str, float]) -> float:
        how = self.params.scalarize
        if how == "min":
            return min(values.values())
        if how == "mean":
            return sum(values.values()) / len(values)
        return sum(w * values[label] for label, w, _ in self.parts)


class FormulaParams(Params):
    expression: str = Field(min_length=1, description="e.g. 0.8*math + 0.2*min(format, length)")
    components: list[Component] = Field(min_length=1)

    @model_validator(mode="after")
    def _parses(self) -> FormulaParams:
        try:
            Formula(self.expression)
        except FormulaError as exc:
            raise ConfigError(str(exc)) from exc
        return self


class FormulaReward(_Composite):
    """An arithmetic expression over the components' scores (variables = component names)."""

    type_id = "formula"
    taxonomy = Taxonomy(basis=Basis.HYBRID)
    Params = FormulaParams
    description = "Arithmetic formula over component scores (safe parser, no eval)"

    def __init__(self, spec: RewardSpec, resolver: Resolver | None = None) -> None:
        super().__init__(spec, resolver)
        self.formula = Formula(self.params.expression)
        unknown = self.formula.variables - {label for label, _, _ in self.parts}
        if unknown:
            raise ConfigError(
                f"formula {self.params.expression!r} uses {sorted(unknown)}, "
                f"but the components are {[label for label, _, _ in self.parts]}"
            )

    def combine(self, values: dict[str, float]) -> float:
        try:
            value = self.formula.evaluate(values)
        except FormulaError as exc:
            raise RewardError(ErrorType.INVALID_INPUT, str(exc)) from exc
        if not math.isfinite(value):
            raise RewardError(ErrorType.INVALID_INPUT, f"formula gave {value}")
        return value


class GateParams(Params):
    gate: str | RewardSpec = Field(description="the reward that must pass")
    reward: str | RewardSpec = Field(description="the reward that counts when the gate passes")
    threshold: float = Field(default=1.0, description="the gate passes at score >= threshold")
    otherwise: float = Field(default=0.0, description="score when the gate fails")


class Gate(_Composite):
    """``reward`` counts only for items whose ``gate`` passes; others get ``otherwise``."""

    type_id = "gate"
    taxonomy = Taxonomy(basis=Basis.HYBRID)
    Params = GateParams
    description = "A reward that counts only when a gate reward passes"

    def _components(self) -> list[Component]:
        return [
            Component(reward=self.params.gate, name="gate"),
            Component(reward=self.params.reward, name="reward"),
        ]

    async def score_batch(self, items: Sequence[Item], ctx: ScoreContext) -> list[Result]:
        (_, _, gate), (_, _, inner) = self.parts
        gates = await gate.score(items, ctx)
        verdicts: list[float | RewardError] = []
        for g in gates:
            try:
                verdicts.append(self._value("gate", gate, g))
            except RewardError as exc:
                verdicts.append(exc)
        passing = [
            i
            for i, v in enumerate(verdicts)
            if not isinstance(v, RewardError) and v >= self.params.threshold
        ]
        # The gated reward runs only on the items that pass: no work wasted on the others.
        inner_results = await inner.score([items[i] for i in passing], ctx) if passing else []
        by_index = dict(zip(passing, inner_results, strict=True))
        out = []
        for i, (g, verdict) in enumerate(zip(gates, verdicts, strict=True)):
            if isinstance(verdict, RewardError):
                out.append(Result(error=verdict.error, scores={"gate": None}))
            elif i in by_index:
                out.extend(self._combine_rows([items[i]], [[g], [by_index[i]]]))
            else:
                out.append(Result(score=self.params.otherwise, scores={"gate": g.score}))
        return out

    def combine(self, values: dict[str, float]) -> float:
        return values["reward"]
