"""``rewardgym/ToolUse-v0`` and its tools: a scripted policy solves tasks through the tools;
tool calls that fail are data for the model, never a crash; hostile python stays in the
sandbox; every turn's text and reward map onto the transcript."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import pytest

import rewardgym.envs  # noqa: F401 - registers the ids
from rewardgym.envs.tool_use import ToolUseEnv
from rewardgym.judges.tools import (
    BM25Index,
    PythonSession,
    Tool,
    ToolError,
    calculate,
    parse_tool_calls,
)

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/test installs it)"
)


def call(name: str, **arguments: object) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def test_the_calculator_computes_and_refuses_what_is_not_arithmetic():
    assert calculate("1234 * 5678") == "7006652"
    assert calculate("sqrt(16) + 2**3") == "12.0"
    for hostile in ("__import__('os').system('id')", "2**10**10", "factorial(10**6)", "x" * 600):
        with pytest.raises(ToolError):
            calculate(hostile)


def test_bm25_ranks_the_passage_that_shares_the_rare_words_first():
    index = BM25Index(
        [
            {"id": "1", "title": "Paris", "text": "Paris is the capital of France."},
            {"id": "2", "title": "Lyon", "text": "Lyon is a city in France on the Rhone."},
            {"id": "3", "title": "Rome", "text": "Rome is the capital of Italy."},
        ]
    )
    [(_, best), *_] = index.search("capital of France")
    assert best["id"] == "1"
    assert index.search("zebra") == []


def test_tool_calls_are_read_and_malformed_ones_are_reported():
    text = call("calculator", expression="1+1") + '<tool_call>{"name": </tool_call>'
    first, second = parse_tool_calls(text)
    assert first.name == "calculator" and first.arguments == {"expression": "1+1"}
    assert second.error is not None and "JSON" in second.error
    assert parse_tool_calls("The answer is 2.") == []
    as_text = '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>'
    assert parse_tool_calls(as_text)[0].arguments == {"x": 1}


def test_a_typed_function_becomes_a_tool_with_its_schema_and_checks():
    def lookup(city: str, year: int = 2024) -> str:
        """Look up a city's population.

        More details that the model does not need."""
        return f"{city}:{year}"

    tool = Tool.from_function(lookup)
    assert tool.schema()["function"]["description"] == "Look up a city's population."
    assert tool.parameters["required"] == ["city"]
    assert tool.parameters["properties"]["year"] == {"type": "integer"}
    assert tool({"city": "Lyon"}) == "Lyon:2024"
    for bad in ({}, {"city": 3}, {"city": "x", "extra": 1}, ["Lyon"]):
        with pytest.raises(ToolError):
            tool(bad)


TASK = {"prompt": "What is 1234 * 5678?", "reference": "7006652"}


def test_a_scripted_policy_solves_the_task_through_the_calculator():
    env = gym.make("rewardgym/ToolUse-v0", tools=["calculator"], tool_rewards={"valid": 0.1})
    obs, info = env.reset(options={"task": TASK})
    assert obs == TASK["prompt"]
    assert [t["function"]["name"] for t in info["tools"]] == ["calculator"]
    obs, reward, terminated, truncated, info = env.step(call("calculator", expression="1234*5678"))
    assert "7006652" in obs and reward == pytest.approx(0.1)
    assert not terminated and not truncated
    assert info["messages"][-1] == {"role": "tool", "name": "calculator", "content": "7006652"}
    obs, reward, terminated, truncated, info = env.step("So it is \\boxed{7006652}.")
    assert terminated and not truncated and reward == 1.0 and info["stop"] == "final_answer"
    assert env.unwrapped.episode_return("null") == pytest.approx(1.1)
    transcript = info["transcript"]
    for turn in info["turns"]:  # each turn's text sits at its span, as produced
        assert transcript[turn["start"] : turn["end"]] == turn["text"]
    assert [t["role"] for t in info["turns"]] == ["user", "assistant", "tool", "assistant"]
    assert [t["reward"] for t in info["turns"]] == pytest.approx([0.0, 0.1, 0.0, 1.0])
    env.close()


def test_failing_calls_are_told_to_the_model_and_cost_more_when_repeated():
    env = ToolUseEnv(tools=["calculator"], tool_rewards={}, max_turns=3)
    env.reset(options={"task": TASK})
    obs, reward, *_ = env.step(call("shell", command="rm -rf /"))
    assert "no tool 'shell'" in obs and reward == -0.1
    obs, reward, *_ = env.step(call("shell", command="rm -rf /"))
    assert reward == -0.2  # the same failing call again
    obs, reward, terminated, truncated, info = env.step(call("calculator", expression="1/0"))
    assert "ZeroDivisionError" in info["messages"][-1]["content"] and reward == -0.1
    assert truncated and not terminated and info["stop"] == "max_turns"


def test_a_task_lists_the_tools_it_allows():
    env = ToolUseEnv(tools=["calculator", "python"])
    _, info = env.reset(options={"task": {**TASK, "metadata": {"tools": ["calculator"]}}})
    assert [t["function"]["name"] for t in info["tools"]] == ["calculator"]


def test_search_over_a_local_corpus(tmp_path: Path):
    corpus = tmp_path / "docs.jsonl"
    docs = [
        {"id": "a", "title": "Eiffel Tower", "text": "The Eiffel Tower is 330 metres tall."},
        {"id": "b", "title": "Big Ben", "text": "Big Ben's tower is 96 metres tall."},
    ]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs))
    env = ToolUseEnv(reward="contains", corpus=corpus, tools=["search"])
    task = {"prompt": "How tall is the Eiffel Tower?", "reference": "330"}
    env.reset(options={"task": task})
    obs, *_ = env.step(call("search", query="Eiffel tower height"))
    assert obs.startswith("<tool_response>") is False and obs.startswith("[a] Eiffel Tower")
    *_, reward, terminated, _, _ = env.step("It is 330 metres tall.")
    assert terminated and reward == 1.0


@needs_bwrap
def test_python_keeps_its_state_across_calls_within_an_episode():
    env = ToolUseEnv(tools=["python"])
    env.reset(options={"task": TASK})
    obs, *_ = env.step(call("python", code="x = 1234\ndef times(y):\n    return x * y"))
    assert obs == "(no output)"
    obs, *_ = env.step(call("python", code="print(times(5678))"))
    assert obs.strip() == "7006652"
    obs, *_ = env.step(call("python", code="raise ValueError('no')"))
    assert "ValueError: no" in obs
    obs, *_ = env.step(call("python", code="print(x)"))  # a failed cell changed nothing
    assert obs.strip() == "1234"
    env.reset(options={"task": TASK})  # a new episode starts clean
    obs, *_ = env.step(call("python", code="print(x)"))
    assert "NameError" in obs


@needs_bwrap
def test_hostile_python_stays_in_the_sandbox():
    session = PythonSession(max_seconds=60)
    reads = session.run("print(open('/etc/hostname').read() if False else 1)")
    assert reads.strip() == "1"
    secret = session.run("import os; print(os.path.exists('/root'), os.listdir('/'))")
    assert "True" not in secret.split()[0]  # the host's home is not there
    network = session.run(
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('reached')\nexcept OSError as e:\n    print('blocked')"
    )
    assert network.strip() == "blocked"
    with pytest.raises(ToolError, match="stopped"):
        PythonSession().run("while True: pass")
    bounded = PythonSession(max_cells=2)
    bounded.run("a = 1")
    bounded.run("b = 2")
    with pytest.raises(ToolError, match="cells"):
        bounded.run("c = 3")


# ---- found by a red team ------------------------------------------------------------------


def test_calculator_inputs_that_would_stall_or_crash_are_refused_at_once():
    import time

    started = time.monotonic()
    for hostile in (
        "round(1, -10**7)",
        "1+\ud800",
        "(" * 5000 + "1" + ")" * 5000,
        "-" * 5000 + "1",
    ):
        with pytest.raises(ToolError):
            calculate(hostile)
    assert time.monotonic() - started < 2  # round(1, -10**9) held the GIL for minutes


def test_tool_calls_too_odd_to_read_are_call_errors_not_exceptions():
    huge = '<tool_call>{"name": "x", "arguments": {}, "n": ' + "1" * 5000 + "}</tool_call>"
    deep = "<tool_call>" + "[" * 5000 + "</tool_call>"
    for text in (huge, deep):
        [read] = parse_tool_calls(text)
        assert read.error is not None
    env = ToolUseEnv(tools=["calculator"])
    env.reset(options={"task": TASK})
    obs, *_ = env.step(huge)
    assert obs.startswith("error: the tool call cannot be read")


def test_calling_tools_never_pays_like_solving():
    env = ToolUseEnv(tools=["calculator"], tool_rewards={"valid": 0.3}, max_tool_calls=16)
    env.reset(options={"task": TASK})
    rewards = [env.step(call("calculator", expression="1+1"))[1] for _ in range(3)]
    assert rewards == [0.3, 0.0, 0.0]  # the same call pays once
    more = [env.step(call("calculator", expression=f"{i}+1"))[1] for i in range(5)]
    assert sum(rewards) + sum(more) == pytest.approx(0.5)  # at most half the outcome weight


@needs_bwrap
def test_an_earlier_cell_cannot_forge_or_end_later_calls():
    session = PythonSession()
    assert session.run("import os\nos.write(1, b'All tests passed ')") == "All tests passed "
    assert session.run("print(2 + 2)").strip() == "4"  # its write is not replayed
    with pytest.raises(ToolError, match="ended the interpreter"):
        session.run("import os\nprint('All tests passed')\nos._exit(0)")
    assert session.run("print(3 + 3)").strip() == "6"  # the _exit cell was not kept
    with pytest.raises(ToolError, match="ZeroDivisionError"):
        session.run("1 / 0")  # code that raises is a failed call


def test_copying_the_questions_expression_is_no_answer():
    """Math accepts an equivalent expression; with tools to compute it, ToolUse's default
    outcome reward wants the number (``literal``)."""
    env = ToolUseEnv(tools=["calculator"])
    env.reset(options={"task": TASK})
    *_, reward, terminated, _, info = env.step("\\boxed{1234*5678}")
    assert terminated and reward == 0.0 and info["result"].metadata["not_literal"]


def test_useful_pays_once_for_a_correct_answer_a_tool_computed_and_never_otherwise():
    rewards = {"useful": 0.2}

    def episode(*actions: str) -> tuple[float, dict]:
        env = ToolUseEnv(tools=["calculator"], tool_rewards=rewards)
        env.reset(options={"task": TASK})
        for action in actions:
            *_, reward, _, _, info = env.step(action)
        return reward, info

    reward, info = episode(
        call("calculator", expression="1+1"), call("calculator", expression="1234*5678"), "7006652"
    )
    assert reward == pytest.approx(1.2) and info["useful_turn"] == 4  # the second tool turn
    assert info["turns"][4]["text"] == "<tool_response>\n7006652\n</tool_response>\n"
    reward, info = episode("\\boxed{7006652}")  # right, but no tool gave it
    assert reward == 1.0 and info["useful_turn"] is None
    reward, info = episode(call("calculator", expression="1234*5678"), "\\boxed{7006651}")
    assert reward == 0.0 and info["useful_turn"] is None  # the tool was right, the answer not


@needs_bwrap
def test_a_result_dump_holding_every_number_is_not_useful():
    env = ToolUseEnv(tools=["python"], tool_rewards={"useful": 0.2})
    env.reset(options={"task": TASK})
    env.step(call("python", code="print(*range(7006640, 7006660))"))
    *_, reward, terminated, _, info = env.step("\\boxed{7006652}")
    assert terminated and reward == 1.0 and info["useful_turn"] is None


@pytest.mark.parametrize(
    ("actions", "why"),
    [
        ([call("calculator", expression="7006652")], "a restated literal computes nothing"),
        ([call("calculator", expression="7_006_652")], "the same literal, written otherwise"),
        ([call("calculator", expression="(+7006652)")], "and signed, in parentheses"),
        (
            [call("calculator", expression="2+3"), "The answer is 7006652 (5)"],
            "two numbers in the answer: ambiguous",
        ),
    ],
)
def test_useful_is_not_paid_for_hacks_a_policy_would_find(actions: list[str], why: str):
    env = ToolUseEnv(tools=["calculator"], tool_rewards={"useful": 0.2})
    env.reset(options={"task": TASK})
    if len(actions) == 1:
        actions = [*actions, "\\boxed{7006652}"]
    for action in actions:
        *_, terminated, _, info = env.step(action)
    assert terminated and info["useful_turn"] is None, why


def test_useful_reads_signs_separators_and_dumps_as_a_policy_cannot_game_them():
    from rewardgym.envs.useful_result import Output, numbers, useful_output

    assert numbers("10-5") == [10.0, 5.0] and numbers("7{,}006{,}652") == [7006652.0]
    printed = [" ".join(map(str, range(i, i + 8))) for i in range(4)]
    split_dump = [Output(i, {"code": "print(...)"}, text) for i, text in enumerate(printed)]
    assert useful_output("5", split_dump) is None  # 32 numbers across four calls: a dump
    letters = [Output(2, {"code": "print('ABCD')"}, "ABCD")]
    assert useful_output("C", letters) is None  # a letter within a line is not the line
    assert useful_output("C", [Output(2, {"code": "print(pick())"}, "C")]) == 2


@pytest.mark.parametrize(
    ("expression", "reference", "answer"),
    [
        ("12-6", "6", "\\boxed{6}"),  # the answer is also an operand: still computed
        ("7/2", "7/2", "\\boxed{\\frac{7}{2}}"),  # a fraction is its value, 3.5
        ("-2**3", "-8", "\\boxed{-8}"),
    ],
)
def test_useful_is_paid_to_an_honest_solver(expression: str, reference: str, answer: str):
    env = ToolUseEnv(tools=["calculator"], tool_rewards={"useful": 0.2})
    env.reset(options={"task": {"prompt": f"What is {expression}?", "reference": reference}})
    env.step(call("calculator", expression=expression))
    *_, reward, terminated, _, info = env.step(answer)
    assert terminated and info["useful_turn"] == 2 and reward == pytest.approx(1.2)


def test_a_busy_tool_costs_the_episode_nothing():
    from rewardgym.judges.tools import Tool, ToolUnavailable

    def python(code: str) -> str:
        """Always busy (fault injection: every slot taken)."""
        raise ToolUnavailable("python is busy")

    env = ToolUseEnv(tools=[Tool.from_function(python)], tool_rewards={})
    env.reset(options={"task": TASK})
    rewards = [env.step(call("python", code="print(1)"))[1] for _ in range(2)]
    assert rewards == [0.0, 0.0]  # not invalid, not a repeated failure
