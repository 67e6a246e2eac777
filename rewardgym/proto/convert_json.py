"""JSON values in protobuf's ``Struct`` and ``Value``, both ways (ints come back as ints)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

__all__ = ["from_pb_json", "plain", "struct_to_pb", "value_to_pb"]


def value_to_pb(value: Any) -> struct_pb2.Value:
    """A JSON value as a protobuf ``Value``."""
    out = struct_pb2.Value()
    json_format.ParseDict(value, out)
    return out


def struct_to_pb(value: dict[str, Any]) -> struct_pb2.Struct:
    """A JSON object as a protobuf ``Struct``."""
    out = struct_pb2.Struct()
    json_format.ParseDict(value, out)
    return out


def from_pb_json(value: Any) -> Any:
    """A ``Struct`` or ``Value`` as JSON (every number a float: see ``plain``)."""
    return json_format.MessageToDict(value)


def _number(value: float) -> float | int:
    """Struct numbers are doubles; give back ints where they were ints."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def plain(value: Any) -> Any:
    """JSON from ``from_pb_json`` with its whole numbers back as ints."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return _number(value)
    return value
