"""``json``: the response parses as JSON and (optionally) validates against a JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from pydantic import ConfigDict, Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import text_of
from rewardgym.judges.user_regex import compile_pattern, search
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["JsonParams", "JsonReward"]

_FENCE = compile_pattern(r"```(?:json)?\s*(.*?)```", dotall=True)


class JsonParams(Params):
    json_schema: dict[str, Any] | None = Field(
        default=None, alias="schema", description="JSON Schema the parsed value must satisfy"
    )
    partial_credit: bool = Field(
        default=False,
        description="score = 1 - (schema errors / checks) instead of all-or-nothing",
    )
    extract_code_block: bool = Field(
        default=True, description="read the first ```json fenced block when present"
    )
    parse_score: float = Field(
        default=0.0, ge=0, le=1, description="score for valid JSON failing the schema (no partial)"
    )

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    @model_validator(mode="after")
    def _schema_is_valid(self) -> JsonParams:
        if self.json_schema is not None:
            try:
                jsonschema.validators.validator_for(self.json_schema).check_schema(self.json_schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"invalid JSON Schema: {exc.message}") from exc
            except RecursionError as exc:
                raise ConfigError("the JSON Schema nests too deeply") from exc
            for pattern in _schema_patterns(self.json_schema):
                compile_pattern(pattern)  # RE2 syntax, checked now: a bad one is a config error
        return self


def _schema_patterns(schema: Any) -> list[str]:
    """Every ``pattern`` and ``patternProperties`` key in a schema (iteratively)."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            if isinstance(node.get("patternProperties"), dict):
                found.extend(node["patternProperties"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and search(compile_pattern(pattern), instance) is None:
        yield jsonschema.ValidationError(f"{instance[:100]!r} does not match {pattern!r}")


def _re2_pattern_properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if search(compiled, key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Any:
    # jsonschema compares every pair of unhashable items: 3,000 objects cost ~10 s of CPU.
    # Canonical JSON texts in a set do the same check in linear time.
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for value in instance:
        key = json.dumps(_normalise_numbers(value), sort_keys=True)
        if key in seen:
            yield jsonschema.ValidationError(f"{str(instance)[:100]} has non-unique elements")
            return
        seen.add(key)


def _normalise_numbers(value: Any) -> Any:
    """Integral floats as ints (JSON Schema: 1 == 1.0), throughout a parsed value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise_numbers(v) for k, v in value.items()}
    return value


def _refuse_retrieval(uri: str) -> Any:
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


def schema_validator(schema: dict[str, Any]) -> Any:
    """A validator for ``schema`` whose patterns run in RE2 (linear time) and whose ``$ref``s
    never leave the schema (no fetching of remote documents)."""
    base = jsonschema.validators.validator_for(schema)
    cls = jsonschema.validators.extend(
        base,
        {
            "pattern": _re2_pattern,
            "patternProperties": _re2_pattern_properties,
            "uniqueItems": _unique_items,
        },
    )
    registry: Any = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    return cls(schema, registry=registry)


def _count_checks(schema: Any) -> int:
    """A rough size of a schema: how many constraints it states (at least 1)."""
    if isinstance(schema, dict):
        return 1 + sum(_count_checks(v) for v in schema.values())
    if isinstance(schema, list):
        return sum(_count_checks(v) for v in schema)
    return 0


class JsonReward(SyncRule):
    """1.0 for JSON that parses (and satisfies the schema); per-error detail in metadata."""

    type_id = "json"
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = JsonParams
    description = "Valid JSON, optionally validated against a JSON Schema"

    def inline_budget(self) -> int:
        # A schema's cost is not bounded by the text: $refs fanned out through allOf/anyOf
        # make a three-level schema cost 2^30 checks. With a schema, always a killable worker.
        return self.inline_chars if self.params.json_schema is None else 0

    def compute(self, item: Item) -> Result:
        p: JsonParams = self.params
        text = text_of(item.response)
        if p.extract_code_block:
            fenced = search(_FENCE, text)
            if fenced is not None:
                text = fenced.group(1)
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            return Result(score=0.0, scores={"parses": 0.0}, metadata={"parse_error": str(exc)})
        if p.json_schema is None:
            return Result(score=1.0, scores={"parses": 1.0})
        try:
            errors = sorted(
                schema_validator(p.json_schema).iter_errors(value), key=lambda e: list(e.path)
            )
        except RecursionError as exc:
            raise RewardError(
                ErrorType.INVALID_INPUT, "the JSON value nests too deeply to validate"
            ) from exc
        except referencing.exceptions.Unresolvable as exc:
            raise RewardError(
                ErrorType.CONFIG_ERROR, f"the schema's $ref cannot be resolved here: {exc}"
            ) from exc
        messages = [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors]
        if not errors:
            score = 1.0
        elif p.partial_credit:
            score = max(0.0, 1.0 - len(errors) / _count_checks(p.json_schema))
        else:
            score = p.parse_score
        return Result(
            score=score,
            scores={"parses": 1.0, "schema": 0.0 if errors else 1.0},
            metadata={"schema_errors": messages[:20]},
        )
