"""The text a reward reads: a prompt or response as text, and a reference as a list of texts."""

from __future__ import annotations

import math
from typing import Any

from rewardgym.errors import RewardError
from rewardgym.schema import ErrorType

__all__ = ["conversation_of", "reference_texts", "text_of"]


def conversation_of(value: Any) -> str:
    """A prompt as a judge reads it: a string, or every message of a chat, each under its
    role (a multi-turn prompt's earlier turns are part of what the response answers)."""
    if isinstance(value, list) and len(value) > 1:
        return "\n\n".join(
            f"{getattr(m, 'role', 'user')}: {getattr(m, 'content', m)}" for m in value
        )
    return text_of(value)


def text_of(value: Any) -> str:
    """The text of a response or prompt: a string, or the last message's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        last = value[-1]
        return str(getattr(last, "content", last))
    return "" if value is None else str(value)


def _reference_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return None


def reference_texts(reference: Any, reward: str, *, many: bool = True) -> list[str]:
    """A reference as text: a string or a number (or, with ``many``, a non-empty list of them).
    Anything else (objects, nested lists, booleans) is an ``invalid_input`` error naming the
    type: a reference is never turned into text by ``str()`` and scored silently."""
    if isinstance(reference, str):  # the common case, first
        return [reference]
    values = reference if many and isinstance(reference, list) else [reference]
    texts = [_reference_text(v) for v in values]
    if not values or any(t is None for t in texts):
        allowed = "a string or a number" + (", or a non-empty list of them" if many else "")
        raise RewardError(
            ErrorType.INVALID_INPUT,
            f"{reward}'s reference must be {allowed}; got {_type_name(reference)}",
        )
    return [t for t in texts if t is not None]


def _type_name(value: Any, *, outer: bool = True) -> str:
    names = {dict: "an object", bool: "a boolean", type(None): "null", list: "a list"}
    if isinstance(value, list) and outer:
        inner = sorted({_type_name(v, outer=False) for v in value[:20]})
        return f"a list of {', '.join(inner)}" if inner else "an empty list"
    return names.get(type(value), type(value).__name__)
