"""A tool an agent may call: a name, a description, a JSON schema of its arguments, and a
plain Python function behind them (its typed signature and docstring make the schema)."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tool", "ToolError", "ToolUnavailable", "json_type"]


class ToolError(Exception):
    """A call the tool refuses or cannot complete; its message goes back to the model."""


class ToolUnavailable(ToolError):
    """The tool could not take the call for reasons not the model's (every slot busy): the
    model is told, and step rewards treat the call as neither valid nor invalid."""


_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_type(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a parameter's annotation (str, int, float, bool, list[...])."""
    origin = typing.get_origin(annotation)
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    if origin is list:
        (inner,) = typing.get_args(annotation) or (str,)
        return {"type": "array", "items": json_type(inner)}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return json_type(options[0])
    raise TypeError(f"a tool parameter must be str, int, float, bool or a list; got {annotation}")


@dataclass(frozen=True)
class Tool:
    """``function(**arguments) -> str`` under ``name``, described for the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., str] = field(repr=False)

    @classmethod
    def from_function(cls, function: Callable[..., Any], name: str | None = None) -> Tool:
        """A tool from a typed function; its docstring's first paragraph describes it."""
        hints = typing.get_type_hints(function)
        properties: dict[str, Any] = {}
        required = []
        for param in inspect.signature(function).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            properties[param.name] = json_type(hints.get(param.name, str))
            if param.default is param.empty:
                required.append(param.name)
        doc = inspect.getdoc(function) or ""
        return cls(
            name=name or function.__name__,
            description=doc.split("\n\n")[0].replace("\n", " ").strip(),
            parameters={"type": "object", "properties": properties, "required": required},
            function=function,
        )

    def schema(self) -> dict[str, Any]:
        """The OpenAI/Hermes ``{"type": "function", "function": {...}}`` form chat templates
        render."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def check(self, arguments: Any) -> dict[str, Any]:
        """The arguments, if they fit the schema's names, required ones and basic types."""
        if not isinstance(arguments, dict):
            raise ToolError(f"{self.name}: arguments must be an object")
        known = self.parameters["properties"]
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise ToolError(f"{self.name}: unknown arguments {unknown}; allowed {sorted(known)}")
        missing = [n for n in self.parameters["required"] if n not in arguments]
        if missing:
            raise ToolError(f"{self.name}: missing arguments {missing}")
        for key, value in arguments.items():
            if not _fits(value, known[key]):
                raise ToolError(f"{self.name}: {key} must be a {known[key].get('type')}")
        return arguments

    def __call__(self, arguments: Any) -> str:
        return str(self.function(**self.check(arguments)))


def _fits(value: Any, schema: Any) -> bool:
    """Whether ``value`` has the schema's basic type (what it does not know, it lets pass)."""
    if not isinstance(schema, dict):  # JSON Schema's true/false and the like
        return True
    kind = schema.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(_fits(v, schema.get("items")) for v in value)
    return True
