"""Tool calls in a model's text: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
(the Hermes form Qwen's and TRL's chat templates use)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from rewardgym.judges.tools.tool import Tool, ToolError, ToolUnavailable

__all__ = ["MAX_CALLS", "ToolCall", "parse_tool_calls", "run_call"]

MAX_CALLS = 4
"""Calls read from one turn at most."""

_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    """A call as the model wrote it; ``error`` when it could not be read."""

    name: str
    arguments: Any
    error: str | None = None

    def key(self) -> str:
        return json.dumps([self.name, self.arguments], sort_keys=True, default=str)


def parse_tool_calls(text: str) -> list[ToolCall]:
    """The calls in ``text`` (at most ``MAX_CALLS``), in order; none when it has no
    ``<tool_call>`` block (then the text is the final answer)."""
    calls = []
    for match in _CALL.finditer(text):
        body = match.group(1)
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            calls.append(ToolCall("", None, f"the tool call is not JSON: {exc.msg}"))
            continue
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, deep nesting
            calls.append(ToolCall("", None, f"the tool call cannot be read: {str(exc)[:100]}"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            calls.append(ToolCall("", None, 'a tool call is {"name": ..., "arguments": {...}}'))
            continue
        arguments = data.get("arguments", {})
        if isinstance(arguments, str):  # some models send the arguments as JSON text
            try:
                arguments = json.loads(arguments)
            except (ValueError, RecursionError):
                calls.append(ToolCall(data["name"], None, "the arguments are not JSON"))
                continue
        calls.append(ToolCall(data["name"], arguments))
    return calls[:MAX_CALLS]


def run_call(
    tools: dict[str, Tool], call: ToolCall, max_chars: int = 8000
) -> tuple[str, bool | None]:
    """What ``call`` returns, and whether it ran: a call that could not be read, an unknown
    tool, bad arguments, a tool that refused or failed are each an ``error: ...`` text for
    the model (a failed call is data, never an exception); None when the tool was unavailable
    through no fault of the call (``ToolUnavailable``)."""
    if call.error is not None:
        return f"error: {call.error}", False
    tool = tools.get(call.name)
    if tool is None:
        return f"error: no tool {call.name!r}; tools: {sorted(tools)}", False
    try:
        return tool(call.arguments)[:max_chars], True
    except ToolUnavailable as exc:
        return f"error: {exc}"[:max_chars], None
    except ToolError as exc:
        return f"error: {exc}"[:max_chars], False
    except Exception as exc:  # a user's tool failed: the model sees why, the run goes on
        return f"error: {call.name} failed: {type(exc).__name__}: {exc}"[:2000], False
