"""``agent``: an LLM judge that may check before it judges. Before its verdict the judge may
call tools, ``python`` (the code reward's sandbox: run the response's code, or its own checks),
``calculator`` and ``search`` (BM25 over the item's reference passages,
``metadata.documents``: strings or ``{"title", "text"}`` objects), in ``<tool_call>`` blocks;
each result comes back in a ``<tool_response>`` block, and the judge goes on until it gives
the usual JSON verdict.

Bounded: at most ``max_turns`` turns with tool calls and ``max_tool_calls`` calls per item,
each python call by the sandbox's limits, the whole item by the request deadline; a judge that
still calls tools when it must answer, or answers with no verdict, is a ``judge_parse_error``
on that item. The tool transcript is in ``metadata["transcript"]``.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.backends.base import BackendError, ChatRequest
from rewardgym.judges.base import ScoreContext
from rewardgym.judges.llm._judge import JudgeParams, LLMJudge
from rewardgym.judges.llm.parsers import VerdictError, neutralise, parse_json_score
from rewardgym.judges.texts import conversation_of, text_of
from rewardgym.judges.tools import (
    BM25Index,
    PythonSession,
    Tool,
    ToolCall,
    ToolError,
    calculator_tool,
    parse_tool_calls,
    python_tool,
    run_call,
    search_tool,
)
from rewardgym.judges.tools.threads import in_tool_thread
from rewardgym.schema import Basis, ErrorType, Format, Item, Result, Taxonomy

__all__ = ["AgentJudge", "AgentParams"]

TEMPLATE_VERSION = "agent-v1"
DEFAULT_CRITERIA = (
    "Judge whether the response is correct and complete. Where it makes a claim a tool can "
    "check (its code runs and gives what it says, its arithmetic holds), check it."
)
MIN_SCORE, MAX_SCORE = 1, 10
LAST_CALL = (
    "You have used your tool calls. Give your verdict now, as the JSON object, with no tool call."
)


class AgentParams(JudgeParams):
    tools: tuple[Literal["python", "calculator", "search"], ...] = Field(
        default=("python", "calculator"), min_length=1, description="tools the judge may call"
    )
    max_turns: int = Field(default=3, ge=1, le=8, description="turns with tool calls at most")
    max_tool_calls: int = Field(default=4, ge=1, le=16, description="tool calls per item")
    criteria: str = DEFAULT_CRITERIA

    AT_MOST_DEFAULT = JudgeParams.AT_MOST_DEFAULT | {"max_turns", "max_tool_calls"}


class AgentJudge(LLMJudge):
    """An LLM judge that verifies with tools before its verdict."""

    type_id = "agent"
    templates = "agent"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.CRITIQUE)
    Params = AgentParams
    description = "LLM judge with tools: runs code and arithmetic checks before its verdict"

    def _tools(self, item: Item) -> dict[str, Tool]:
        session = PythonSession()
        made = {
            "python": lambda: python_tool(session),
            "calculator": calculator_tool,
            "search": lambda: _passages_tool(item.metadata.get("documents")),
        }
        return {name: made[name]() for name in self.params.tools}

    def _system_text(self, tools: dict[str, Tool], reference: bool) -> str:
        p: AgentParams = self.params
        described = "".join(
            f"- {t.name}: {t.description} Arguments: {_arguments(t)}\n" for t in tools.values()
        )
        return self.system_message(
            self._system,
            criteria=p.criteria,
            reference=reference,
            max_tool_calls=p.max_tool_calls,
            min_score=MIN_SCORE,
            max_score=MAX_SCORE,
            tools=described,
        )

    def opening(self, item: Item, tools: dict[str, Tool]) -> list[tuple[str, str]]:
        """The first messages to the judge: the system text with the tools, and the item."""
        reference = self.reference(item)
        user = self.render_user(
            prompt=neutralise(conversation_of(item.prompt)),
            response=neutralise(text_of(item.response)),
            reference=reference,
        )
        return [("system", self._system_text(tools, reference is not None)), ("user", user.strip())]

    async def score_one(self, item: Item, ctx: ScoreContext) -> Result:
        if self.contentless(item.response):
            return self.floored(0.0)
        p: AgentParams = self.params
        try:
            tools = self._tools(item)
        except ValueError as exc:
            raise RewardError(ErrorType.INVALID_INPUT, str(exc)) from exc
        messages = self.opening(item, tools)
        transcript: list[dict[str, Any]] = []
        for turn in range(p.max_turns + 1):
            last = turn == p.max_turns or len(transcript) >= p.max_tool_calls
            if last and turn:
                messages.append(("user", LAST_CALL))
            text = await self._say(messages, turn)
            calls = parse_tool_calls(text)
            if calls and not last:
                messages.append(("assistant", text))
                results = []
                for call in calls[: p.max_tool_calls - len(transcript)]:
                    output = await self._run(tools, call)
                    transcript.append(
                        {"tool": call.name, "arguments": call.arguments, "result": output[:2000]}
                    )
                    results.append(f"<tool_response>\n{neutralise(output)}\n</tool_response>")
                messages.append(("user", "\n".join(results)))
                continue
            return self._verdict(text, transcript)
        raise AssertionError("unreachable: the last turn returns")  # pragma: no cover

    async def _say(self, messages: list[tuple[str, str]], turn: int) -> str:
        p: AgentParams = self.params
        request = ChatRequest(
            messages=tuple(messages),
            max_tokens=p.max_tokens,
            temperature=p.temperature,
            namespace=f"{TEMPLATE_VERSION}:turn{turn}",
        )
        try:
            return (await self.backend.chat(request)).text
        except BackendError as exc:
            kind = ErrorType.TIMEOUT if exc.timeout else ErrorType.BACKEND_ERROR
            raise RewardError(kind, str(exc), retryable=exc.retryable) from exc

    @staticmethod
    async def _run(tools: dict[str, Tool], call: ToolCall) -> str:
        output, _ = await in_tool_thread(run_call, tools, call)  # the sandbox blocks
        return output

    @staticmethod
    def _verdict(text: str, transcript: list[dict[str, Any]]) -> Result:
        if parse_tool_calls(text):
            raise RewardError(
                ErrorType.JUDGE_PARSE_ERROR,
                "the judge still called tools when it had to give its verdict",
                retryable=True,
            )
        try:
            score, critique = parse_json_score(text, MIN_SCORE, MAX_SCORE)
        except VerdictError as exc:
            raise RewardError(
                ErrorType.JUDGE_PARSE_ERROR,
                f"unreadable verdict ({exc}); it began {text[:200]!r}",
                retryable=True,
            ) from exc
        return Result(
            score=(score - MIN_SCORE) / (MAX_SCORE - MIN_SCORE),
            critique=critique,
            metadata={"raw_score": score, "tool_calls": len(transcript), "transcript": transcript},
        )


MAX_DOCUMENTS = 1000
MAX_DOCUMENT_CHARS = 4_000_000
"""An item's reference passages at most, in number and in characters all together."""


def _passages_tool(documents: Any) -> Tool:
    """``search`` over the item's reference passages (``metadata.documents``), checked here
    and indexed on the first search, on the tool thread (never on the event loop)."""
    if documents is None:
        documents = []
    if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
        raise ValueError(f"metadata.documents must be a list of at most {MAX_DOCUMENTS} passages")
    rows, chars = [], 0
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            doc = {"text": doc}
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
            raise ValueError(f"metadata.documents[{i}] must be a string or {{title, text}}")
        row = {"id": str(i), "title": str(doc.get("title", ""))[:1000], "text": doc["text"]}
        chars += len(row["title"]) + len(row["text"])
        if chars > MAX_DOCUMENT_CHARS:
            raise ValueError(f"metadata.documents hold more than {MAX_DOCUMENT_CHARS:,} characters")
        rows.append(row)

    @functools.cache
    def indexed() -> Tool:
        return search_tool(BM25Index(rows))

    def search(query: str, k: int = 3) -> str:
        """Search the item's reference passages; the best ones, each with its id and title."""
        if not rows:
            raise ToolError("this item has no reference passages to search")
        return indexed()({"query": query, "k": k})

    return Tool.from_function(search)


def _arguments(tool: Tool) -> str:
    return json.dumps({k: v["type"] for k, v in tool.parameters["properties"].items()})
