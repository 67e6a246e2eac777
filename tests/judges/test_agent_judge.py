"""The agent judge: it calls tools before its verdict, the tool transcript is recorded, and its
bounds hold (scripted chat servers stand in for the judge model: fault injection, scripted to
call tools; the tools themselves are real: the sandbox runs the response's code)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from rewardgym.config import Settings
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, RewardSpec, ScoreRequest
from rewardgym.service import RewardService
from tests.conftest import scripted_judge
from tests.judges.test_judge_faults import _completion

CODE = "def add(a, b):\n    return a - b"
ITEM = Item(prompt="Write add(a, b).", response=f"```python\n{CODE}\n```\nThis adds a and b.")


def _spec(url: str, **params: Any) -> RewardSpec:
    backend = {"base_url": url, "model": "m", "cache": False}
    return RewardSpec.model_validate(
        {"name": "agent", "type": "agent", "params": {"backend": backend, **params}}
    )


def _call(name: str, **arguments: Any) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


async def _score(spec: RewardSpec, item: Item = ITEM) -> Any:
    service = RewardService(RewardRegistry([spec]), Settings(audit_per_minute=0))
    try:
        [result] = (await service.score(ScoreRequest(reward="agent", items=[item]))).results
    finally:
        await service.aclose()
    return result


def _checker(path: str, body: dict[str, Any]) -> bytes:
    """Runs the response's code first, then judges by what the tool said."""
    last = body["messages"][-1]["content"]
    if "<tool_response>" not in last:
        return _completion("Let me run it. " + _call("python", code=CODE + "\nprint(add(2, 2))"))
    verdict = 1 if "0" in last.split("<tool_response>")[1] else 10
    return _completion(json.dumps({"critique": f"add(2, 2) printed {last!r}", "score": verdict}))


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
async def test_the_judge_runs_the_responses_code_and_judges_by_what_it_did():
    sent: list[dict[str, Any]] = []
    with scripted_judge(_checker, sent) as url:
        result = await _score(_spec(url))
    assert result.error is None and result.score == 0.0  # it claimed add, it subtracts
    [step] = result.metadata["transcript"]
    assert step["tool"] == "python" and step["result"].strip() == "0"
    assert result.metadata["tool_calls"] == 1 and len(sent) == 2
    assert "python" in sent[0]["messages"][0]["content"]  # the tools are offered
    assert "<tool_response>\n0" in sent[1]["messages"][-1]["content"]


async def test_the_calculator_checks_a_claim():
    def reply(path: str, body: dict[str, Any]) -> bytes:
        last = body["messages"][-1]["content"]
        if "<tool_response>" not in last:
            return _completion(_call("calculator", expression="1234 * 5678"))
        right = "7006652" in last
        return _completion(json.dumps({"critique": "checked", "score": 10 if right else 1}))

    with scripted_judge(reply, []) as url:
        result = await _score(
            _spec(url, tools=["calculator"]),
            Item(prompt="1234 * 5678?", response="It is 7006652."),
        )
    assert result.score == 1.0 and result.metadata["transcript"][0]["result"] == "7006652"


async def test_the_judge_looks_up_the_items_reference_passages():
    documents = [
        {"title": "Lyon", "text": "Lyon lies where the Rhone meets the Saone."},
        {"title": "Paris", "text": "Paris is the capital of France, on the Seine."},
        "Rome is the capital of Italy.",
    ]

    def reply(path: str, body: dict[str, Any]) -> bytes:
        last = body["messages"][-1]["content"]
        if "<tool_response>" not in last:
            return _completion(_call("search", query="capital of France"))
        found = last.split("<tool_response>")[1]
        right = found.lstrip().startswith("[1] Paris") and "Seine" in found
        return _completion(json.dumps({"critique": "looked it up", "score": 10 if right else 1}))

    item = Item(
        prompt="Which river runs through the capital of France?",
        response="The Seine.",
        metadata={"documents": documents},
    )
    with scripted_judge(reply, []) as url:
        result = await _score(_spec(url, tools=["search"]), item)
        assert result.score == 1.0, result
        assert result.metadata["transcript"][0]["tool"] == "search"
        no_documents = await _score(_spec(url, tools=["search"]))  # the tool says so
        assert no_documents.metadata["transcript"][0]["result"] == (
            "error: this item has no reference passages to search"
        )
        bad = Item(prompt="q", response="a", metadata={"documents": [{"title": "no text"}]})
        refused = await _score(_spec(url, tools=["search"]), bad)
    assert refused.error.type == ErrorType.INVALID_INPUT
    assert "metadata.documents[0]" in refused.error.message


async def test_a_judge_that_never_stops_calling_tools_is_bounded_and_fails_alone():
    sent: list[dict[str, Any]] = []
    always = _completion(_call("calculator", expression="1+1"))
    with scripted_judge(lambda p, b: always, sent) as url:
        result = await _score(_spec(url, tools=["calculator"], max_turns=2, max_tool_calls=3))
    assert result.score is None and result.error.type == ErrorType.JUDGE_PARSE_ERROR
    assert "still called tools" in result.error.message
    assert len(sent) == 3  # two turns with calls, then the last one that had to answer
    assert "You have used your tool calls" in sent[-1]["messages"][-1]["content"]


async def test_unknown_tools_and_bad_arguments_go_back_to_the_judge_as_errors():
    def reply(path: str, body: dict[str, Any]) -> bytes:
        if len(body["messages"]) == 2:
            return _completion(_call("shell", cmd="id") + _call("calculator", expr="1"))
        return _completion(json.dumps({"critique": body["messages"][-1]["content"], "score": 5}))

    with scripted_judge(reply, []) as url:
        result = await _score(_spec(url, tools=["calculator"]))
    results = [step["result"] for step in result.metadata["transcript"]]
    assert results[0].startswith("error: no tool 'shell'")
    assert "unknown arguments ['expr']" in results[1]
    assert result.score == pytest.approx(4 / 9)


async def test_a_judge_backend_that_is_down_is_a_per_item_error():
    from rewardgym.judges.runtime.ports import free_loopback_port

    url = f"http://127.0.0.1:{free_loopback_port()}/v1"
    result = await _score(_spec(url))
    assert result.score is None and result.error.type == ErrorType.BACKEND_ERROR


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
async def test_a_real_model_judge_calls_the_real_tools_and_every_item_ends_in_a_verdict_or_error(
    tool_model: Any,
):
    """The tiny tool model (warmed on the agent judge's own turns), in process: its calls reach
    the real calculator and sandbox, the transcript holds what they returned, and each item
    ends with a verdict or a structured error within the bounds (its judgments are chance)."""
    from rewardgym.judges.tools import calculate

    backend = {"kind": "transformers", "model": str(tool_model), "cache": False}
    spec = RewardSpec.model_validate(
        {"name": "agent", "type": "agent", "params": {"backend": backend, "max_tokens": 128}}
    )
    items = [
        Item(prompt="Calculate 12 * 7 - 5.", response="The result is 79."),
        Item(prompt="Calculate 3 + 4.", response="The result is 8."),
        Item(
            prompt="Write the function and say what it returns.",
            response="```python\ndef add(a, b):\n    return a + b\n```\nadd(2, 3) returns 5.",
        ),
        Item(
            prompt="Write the function and say what it returns.",
            response="```python\ndef cube(x):\n    return x ** 3\n```\ncube(3) returns 9.",
        ),
    ]
    service = RewardService(RewardRegistry([spec]), Settings(audit_per_minute=0))
    try:
        results = (await service.score(ScoreRequest(reward="agent", items=items))).results
    finally:
        await service.aclose()
    steps = [step for r in results for step in r.metadata.get("transcript", [])]
    assert steps, [r.error for r in results]  # the model called tools
    for r in results:
        assert (r.score is not None) != (r.error is not None)
        if r.error is not None:
            assert r.error.type == ErrorType.JUDGE_PARSE_ERROR, r.error
        else:
            assert 0.0 <= r.score <= 1.0 and r.metadata["tool_calls"] <= 4
    for step in steps:  # what the tools really returned
        assert step["tool"] in ("calculator", "python")
        if step["tool"] == "calculator" and not step["result"].startswith("error:"):
            assert step["result"] == calculate(step["arguments"]["expression"])
    print("\n" + "\n".join(json.dumps(s) for s in steps))


def test_passages_are_checked_at_once_and_indexed_only_when_searched():
    from rewardgym.judges.llm.agent import MAX_DOCUMENT_CHARS, _passages_tool

    with pytest.raises(ValueError, match="more than 4,000,000 characters"):
        _passages_tool(["x" * (MAX_DOCUMENT_CHARS // 2)] * 3)
    search = _passages_tool(["...", "!!!"])  # no word at all: no division by zero
    assert search({"query": "anything"}) == "no document matches"
