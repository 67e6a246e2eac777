"""``rewardgym/ToolUse-v0``: the model acts through named tools and finishes with an answer.

Each ``step`` takes one assistant turn. A turn with ``<tool_call>{"name", "arguments"}
</tool_call>`` blocks runs those tools (at most four a turn) and the observation is their
results (``<tool_response>`` blocks, also in ``info["messages"]`` as ``tool`` messages); a turn
without one is the final answer, scored by ``reward`` (any rewardgym reward; by default
``math`` with ``literal``: a number, not the question's expression) on (prompt, answer,
reference): terminated, ``final_answer``. After ``max_turns`` tool turns, or
``max_tool_calls`` calls, the episode is truncated (``max_turns``, ``max_tool_calls``).

Tools: the built-ins ``calculator``, ``python`` (the code reward's sandbox, state kept across
the episode's calls) and ``search`` (BM25 over ``corpus``, a local JSONL file), and any typed
function passed in ``tools``, and the tools of MCP servers (``mcp``). A task may list the
tools it allows (``metadata.tools``).

Step rewards (optional, ``tool_rewards``): a call that runs earns ``valid`` (once per distinct
call, and all of them together at most half of ``outcome_weight``: farming calls never pays
like solving), one that fails (unknown tool, bad arguments, code that raised, the tool
refused) ``invalid``, and the same failing call again ``repeated_failure`` instead; they are
added to that turn's reward. The final turn's reward is ``outcome_weight`` times the outcome
score (a failed reward follows ``on_error``), plus ``useful`` when the answer passed (score
>= 0.5) and is what a tool computed (``useful_result``: not a call that only restates a
value, not one picked from a dump): once an episode, and within the same half of
``outcome_weight`` as ``valid``, so a policy earns it only by solving with the tool's help;
``info["useful_turn"]`` is the index in ``info["turns"]`` of the tool turn it came from. A
call refused for reasons not the model's (every python slot busy) earns nothing either way.

For trainers that keep token ids: each turn's text is in ``info["turns"]`` exactly as the
model produced it (assistant) or as the env appended it (tool), with its character span in
``info["transcript"]`` (their concatenation) and its reward, so per-turn rewards map onto a
trainer's tokens without re-tokenising the history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardgym.envs.base import StepReturn, TextEnv, reward_value
from rewardgym.envs.useful_result import Output, answer_text, useful_output
from rewardgym.judges.tools import (
    BM25Index,
    PythonSession,
    Tool,
    ToolCall,
    calculator_tool,
    parse_tool_calls,
    python_tool,
    run_call,
    search_tool,
)
from rewardgym.judges.tools.mcp_tools import McpServer
from rewardgym.on_error import failure_kind
from rewardgym.schema import Result, RewardSpec
from rewardgym.scoring import RewardRef, ScoreJob

__all__ = ["DEFAULT_TOOL_REWARDS", "ToolUseEnv"]

DEFAULT_TOOL_REWARDS = {"valid": 0.0, "useful": 0.0, "invalid": -0.1, "repeated_failure": -0.2}
LITERAL_MATH = RewardSpec(type="math", params={"literal": True})
"""The default outcome reward: the answer must be a number written out (with tools to
compute it, ``\\boxed{1234*5678}`` copied from the question is no answer)."""
BUILT_IN = ("calculator", "python", "search")


class ToolUseEnv(TextEnv):
    """An agent episode: tool calls, then an answer.

    Args:
        reward: the outcome reward on the final answer (default ``math`` with
            ``literal: true``: a number, not an expression to evaluate).
        tools: built-in names and/or typed functions (default: calculator and python, plus
            search when a corpus is given).
        corpus: a JSONL file of documents for ``search``.
        max_turns: tool turns before the episode is truncated.
        max_tool_calls: tool calls an episode may make in all.
        tool_rewards: step rewards per call (``DEFAULT_TOOL_REWARDS``); None: outcome only.
        outcome_weight: the weight of the outcome reward.
        python: the python tool's session settings (``PythonSession`` fields).
        mcp: MCP servers whose tools the episodes offer too, each a Streamable HTTP URL or a
            stdio command (a list: it runs on this host, so name only servers you trust);
            connected when the env is made, closed with it.
        mcp_timeout_s: the longest an MCP server may take to connect or to answer a call.
        **kwargs: see ``TextEnv``.
    """

    blocking_steps = True  # the python tool runs a sandboxed process

    def __init__(
        self,
        reward: RewardRef = LITERAL_MATH,
        tools: Sequence[str | Callable[..., Any]] | None = None,
        *,
        corpus: str | Path | None = None,
        max_turns: int = 8,
        max_tool_calls: int = 16,
        tool_rewards: Mapping[str, float] | None = None,
        outcome_weight: float = 1.0,
        python: Mapping[str, Any] | None = None,
        mcp: Sequence[str | Sequence[str]] = (),
        mcp_timeout_s: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_turns < 1 or max_tool_calls < 1:
            raise ValueError("max_turns and max_tool_calls must be at least 1")
        self.reward = reward
        self.index = BM25Index.from_jsonl(corpus) if corpus is not None else None
        default: list[str | Callable[..., Any]] = ["calculator", "python"]
        if self.index is not None:
            default.append("search")
        self.tool_specs = list(tools) if tools is not None else default
        for spec in self.tool_specs:
            if isinstance(spec, str) and spec not in BUILT_IN:
                raise ValueError(f"unknown built-in tool {spec!r}; built-ins: {BUILT_IN}")
            if spec == "search" and self.index is None:
                raise ValueError("the search tool needs a corpus (a JSONL file of documents)")
        self.max_turns = max_turns
        self.max_tool_calls = max_tool_calls
        self.tool_rewards = dict(tool_rewards) if tool_rewards is not None else None
        self.outcome_weight = outcome_weight
        self.python_settings = dict(python or {})
        self.mcp_servers: list[McpServer] = []
        try:
            for server in mcp:
                self.mcp_servers.append(McpServer(server, timeout_s=mcp_timeout_s))
                self._add_tools(self.mcp_servers[-1].tools)
        except BaseException:  # one server failed: the ones connected are closed, not leaked
            for connected in self.mcp_servers:
                connected.close()
            raise
        self.tools: dict[str, Tool] = {}
        self.turns: list[dict[str, Any]] = []
        self.calls = 0
        self._failed: set[str] = set()
        self._paid: set[str] = set()
        self._earned = 0.0
        self._answer: str | None = None
        self._last_results = 0
        self._outputs: list[Output] = []  # the calls that ran

    # -- episode ----------------------------------------------------------------------------

    def start_episode(self) -> None:
        assert self.task is not None
        allowed = self.task.metadata.get("tools")
        session = PythonSession(**self.python_settings)
        self.tools = {}
        for spec in self.tool_specs:
            tool = self._build(spec, session)
            if allowed is None or tool.name in allowed:
                self.tools[tool.name] = tool
        self.turns = []
        self.calls = 0
        self._failed = set()
        self._paid = set()
        self._earned = 0.0
        self._answer = None
        self._last_results = 0
        self._outputs = []
        if self.messages and self.messages[-1]["role"] == "user":
            self._add_turn("user", self.messages[-1]["content"], 0.0)

    def _build(self, spec: str | Callable[..., Any], session: PythonSession) -> Tool:
        if spec == "calculator":
            return calculator_tool()
        if spec == "python":
            return python_tool(session)
        if spec == "search":
            assert self.index is not None
            return search_tool(self.index)
        assert callable(spec)
        return spec if isinstance(spec, Tool) else Tool.from_function(spec)

    def _add_tools(self, tools: Sequence[Tool]) -> None:
        """An MCP server's tools, none of which may take another tool's name."""
        taken = {_spec_name(spec) for spec in self.tool_specs}
        for tool in tools:
            if tool.name in taken:
                raise ValueError(f"MCP tool {tool.name!r} has the name of another tool")
            taken.add(tool.name)
            self.tool_specs.append(tool)

    def close(self) -> None:
        for server in self.mcp_servers:
            server.close()
        super().close()

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools of this episode as chat templates take them (``tools=``)."""
        return [tool.schema() for tool in self.tools.values()]

    def info(self, **extra: Any) -> dict[str, Any]:
        transcript = "".join(t["text"] for t in self.turns)
        return super().info(
            tools=self.tool_schemas(), turns=self.turns, transcript=transcript, **extra
        )

    def observation(self) -> str:
        if self.done:
            return ""
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "tool":
            tail = [m["content"] for m in self.messages if m["role"] == "tool"]
            return "\n".join(tail[-self._last_results :])
        return super().observation()

    def _add_turn(self, role: str, text: str, reward: float) -> None:
        start = sum(len(t["text"]) for t in self.turns)
        self.turns.append(
            {"role": role, "text": text, "start": start, "end": start + len(text), "reward": reward}
        )

    # -- step -------------------------------------------------------------------------------

    def begin_step(self, action: str) -> list[ScoreJob]:
        assert self.task is not None
        self.messages.append({"role": "assistant", "content": action})
        calls = parse_tool_calls(action)
        if not calls:
            self._answer = action
            return [ScoreJob(self.reward, self.task.answer_item(action))]
        self._answer = None
        reward = 0.0
        responses = []
        for call in calls:
            if self.calls >= self.max_tool_calls:
                break
            self.calls += 1
            text, ok = run_call(self.tools, call)
            reward += self._call_reward(call, ok)
            if ok:  # the tool turn is added below, after this turn's assistant turn
                self._outputs.append(Output(len(self.turns) + 1, call.arguments, text))
            responses.append(f"<tool_response>\n{text}\n</tool_response>")
            self.messages.append({"role": "tool", "name": call.name, "content": text})
        self._last_results = len(responses)
        self._add_turn("assistant", action, reward)
        self._add_turn("tool", "\n".join(responses) + "\n" if responses else "", 0.0)
        return []

    def _call_reward(self, call: ToolCall, ok: bool | None) -> float:
        """A call's step reward. ``valid`` is paid once per distinct call, and all the
        ``valid`` of an episode together at most ``outcome_weight / 2``: calling tools never
        pays more than half of what solving the task does (a policy farming cheap calls)."""
        if self.tool_rewards is None or ok is None:  # None: the tool was busy, not the call bad
            return 0.0
        rewards = self._rewards()
        key = call.key() if call.error is None else f"error:{call.error}"
        if ok:
            if key in self._paid:
                return 0.0
            self._paid.add(key)
            return self._within_budget(rewards["valid"])
        repeated = key in self._failed
        self._failed.add(key)
        return rewards["repeated_failure"] if repeated else rewards["invalid"]

    def _rewards(self) -> dict[str, float]:
        return {**DEFAULT_TOOL_REWARDS, **(self.tool_rewards or {})}

    def _within_budget(self, amount: float) -> float:
        """A positive step reward, cut to what is left of ``outcome_weight / 2``."""
        if amount <= 0:
            return amount
        paid = min(amount, max(0.0, self.outcome_weight / 2 - self._earned))
        self._earned += paid
        return paid

    def _useful_turn(self, result: Result) -> int | None:
        """The tool turn whose result the passing answer is, if any (``useful``)."""
        if self.tool_rewards is None or result.score is None or result.score < 0.5:
            return None
        assert self._answer is not None
        return useful_output(answer_text(self._answer, result.metadata), self._outputs)

    def finish_step(self, results: list[Result]) -> StepReturn:
        if self._answer is not None:
            [result] = results
            reward = self.outcome_weight * reward_value(result, self.on_error)
            useful = self._useful_turn(result)
            if useful is not None:
                reward += self._within_budget(self._rewards()["useful"])
            self.rewards.append(reward)
            self._add_turn("assistant", self._answer, reward)
            self.end(failure_kind(result) or "final_answer")
            info = self.info(result=result, stop=self.stop, useful_turn=useful)
            return "", reward, True, False, info
        reward = self.turns[-2]["reward"]
        self.rewards.append(reward)
        tool_turns = sum(1 for t in self.turns if t["role"] == "tool")
        if self.calls >= self.max_tool_calls or tool_turns >= self.max_turns:
            self.end("max_tool_calls" if self.calls >= self.max_tool_calls else "max_turns")
            return "", reward, False, True, self.info(stop=self.stop)
        return self.observation(), reward, False, False, self.info()


def _spec_name(spec: str | Callable[..., Any]) -> str:
    if isinstance(spec, str):
        return spec
    return spec.name if isinstance(spec, Tool) else spec.__name__
