"""``json``: the response parses as JSON and (optionally) validates against a JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import regex
from pydantic import ConfigDict, Field, model_validator

from rewardgym.errors import ConfigError
from rewardgym.judges.base import Params, SyncRule, text_of
from rewardgym.judges.rules._text import compile_pattern, search
from rewardgym.schema import Basis, Item, Result, Taxonomy

__all__ = ["JsonParams", "JsonReward"]

_FENCE = compile_pattern(r"```(?:json)?\s*(.*?)```", regex.DOTALL)


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
        return self


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
        validator = jsonschema.validators.validator_for(p.json_schema)(p.json_schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
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
