"""Tools for agents (the ToolUse environment, the agent judge): a ``Tool`` from any typed
function, and the built-ins
(``calculator``, ``python`` in the code sandbox, ``search`` over a local corpus)."""

from rewardgym.judges.tools.calculator import calculate, calculator_tool
from rewardgym.judges.tools.calls import ToolCall, parse_tool_calls, run_call
from rewardgym.judges.tools.python_tool import PythonSession, python_tool
from rewardgym.judges.tools.search import BM25Index, search_tool
from rewardgym.judges.tools.tool import Tool, ToolError, ToolUnavailable

__all__ = [
    "BM25Index",
    "PythonSession",
    "Tool",
    "ToolCall",
    "ToolError",
    "ToolUnavailable",
    "calculate",
    "calculator_tool",
    "parse_tool_calls",
    "python_tool",
    "run_call",
    "search_tool",
]
