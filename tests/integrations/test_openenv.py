"""A real OpenEnv server (``rewardgym envs serve``) on loopback, played by OpenEnv's own
``EnvClient``: concurrent sessions, rewards through OpenEnv's fields, clear errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import httpx
import pytest

from rewardgym.envs.datasets import env_rows
from rewardgym.judges.runtime.ports import free_loopback_port

pytest.importorskip("openenv.core", reason="the openenv extra is not installed")

from rewardgym.integrations.openenv import RewardgymEnvClient, TextAction

SESSIONS = 16
ARITHMETIC = {"task": "basic_arithmetic", "size": 64}


def serve(env_id: str, kwargs: dict[str, Any], max_sessions: int, *extra: str) -> tuple[str, Any]:
    port = free_loopback_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "envs",
            "serve",
            env_id,
            "--port",
            str(port),
            "--max-sessions",
            str(max_sessions),
            "--env-kwargs",
            json.dumps(kwargs),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the OpenEnv server exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return url, process
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the OpenEnv server did not start"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def arithmetic_server() -> Iterator[str]:
    url, process = serve("rewardgym/ReasoningGym-v0", ARITHMETIC, SESSIONS)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_sixteen_concurrent_sessions_get_the_right_rewards_and_a_seventeenth_is_refused(
    arithmetic_server: str,
):
    rows = env_rows(gym.make("rewardgym/ReasoningGym-v0", **ARITHMETIC), range(SESSIONS))

    async def main() -> tuple[list[Any], str]:
        clients = [RewardgymEnvClient(arithmetic_server) for _ in range(SESSIONS)]
        await asyncio.gather(*(c.connect() for c in clients))
        starts = await asyncio.gather(
            *(c.reset(task=json.loads(r["task"])) for c, r in zip(clients, rows, strict=True))
        )
        extra = RewardgymEnvClient(arithmetic_server, message_timeout_s=10)
        try:
            await extra.reset()
            refusal = "accepted"
        except Exception as exc:  # OpenEnv's capacity error, at once
            refusal = str(exc)
        finally:
            await extra.close()
        answers = [r["reference"] if i % 2 == 0 else "-1" for i, r in enumerate(rows)]
        steps = await asyncio.gather(
            *(c.step(TextAction(text=a)) for c, a in zip(clients, answers, strict=True))
        )
        for start, row in zip(starts, rows, strict=True):
            assert start.observation.text == row["prompt"][-1]["content"] and not start.done
        await asyncio.gather(*(c.close() for c in clients))
        return steps, refusal

    started = time.monotonic()
    steps, refusal = asyncio.run(main())
    assert "CAPACITY_REACHED" in refusal and time.monotonic() - started < 30
    for i, step in enumerate(steps):
        assert step.done and step.reward == (1.0 if i % 2 == 0 else 0.0)
        observation = step.observation
        assert observation.terminated and observation.stop == "final_answer"
        assert observation.result["score"] == step.reward and observation.result["error"] is None
        assert observation.result["taxonomy"]["basis"] == "rule"
        assert observation.messages[-1]["role"] == "assistant"


@pytest.mark.slow
def test_a_step_after_the_end_is_a_clear_error_and_state_reports_the_episode(
    arithmetic_server: str,
):
    async def main() -> tuple[Any, str]:
        async with RewardgymEnvClient(arithmetic_server) as client:
            await client.reset(index=3)
            await client.step(TextAction(text="7"))
            state = await client.state()
            try:
                await client.step(TextAction(text="8"))
                error = "no error"
            except RuntimeError as exc:
                error = str(exc)
        return state, error

    state, error = asyncio.run(main())
    assert state.done and state.stop == "final_answer" and state.step_count == 1
    assert state.env_id == "rewardgym/ReasoningGym-v0" and len(state.rewards) == 1
    assert "episode is over" in error and "reset" in error


@pytest.mark.slow
def test_multi_step_episode_over_openenv_with_step_rewards():
    url, process = serve("rewardgym/MultiStep-v0", {"step_reward": "no_repetition"}, 2)
    try:
        [row] = env_rows(gym.make("rewardgym/MultiStep-v0"), [0])

        async def main() -> list[Any]:
            async with RewardgymEnvClient(url) as client:
                await client.reset(task=json.loads(row["task"]))
                first = await client.step(TextAction(text="First the product."))
                last = await client.step(TextAction(text=f"Final answer: {row['reference']}"))
                return [first, last]

        first, last = asyncio.run(main())
        assert (
            not first.done
            and first.reward == 1.0
            and first.observation.text == "First the product."
        )
        assert last.done and last.reward == 2.0  # step reward + the right outcome
        assert last.observation.stop == "final_answer"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_sessions_score_on_the_servers_loop_through_the_apps_scorer():
    """Steps are awaited on the server's event loop by the app's own scorer (started with the
    app): the thread-per-session path and its background scoring loop are never used."""
    from starlette.testclient import TestClient

    from rewardgym.integrations.openenv import create_openenv_app
    from rewardgym.scoring import LocalScorer, ServiceScorer

    [row] = env_rows(gym.make("rewardgym/SingleTurn-v0"), [0])
    app = create_openenv_app("rewardgym/SingleTurn-v0", max_sessions=2)
    services_before = dict(LocalScorer._services)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        scoring = app.state.rewardgym_scoring
        assert isinstance(scoring.scorer, ServiceScorer)
        ws.send_json({"type": "reset", "data": {"task": json.loads(row["task"])}})
        assert ws.receive_json()["type"] == "observation"
        ws.send_json({"type": "step", "data": {"text": f"\\boxed{{{row['reference']}}}"}})
        stepped = ws.receive_json()["data"]
        assert stepped["reward"] == 1.0 and stepped["done"] is True
        assert scoring.scorer.calls == 1
    assert scoring.scorer is None  # closed with the app
    assert LocalScorer._services == services_before


def test_a_tool_use_episode_over_openenv_returns_what_it_returns_in_process():
    """The same scripted policy (a python call, a calculator call, the answer) through
    OpenEnv's own client and through the Gymnasium env: the same observations and return."""
    from rewardgym.envs.tool_use import ToolUseEnv

    kwargs = {"tools": ["calculator", "python"], "tool_rewards": {"valid": 0.1}}
    task = {"prompt": "What is 1234 * 5678?", "reference": "7006652"}
    script = [
        '<tool_call>{"name": "python", "arguments": {"code": "x = 1234"}}</tool_call>',
        '<tool_call>{"name": "calculator", "arguments": {"expression": "1234*5678"}}</tool_call>',
        "It is \\boxed{7006652}.",
    ]
    local = ToolUseEnv(**kwargs)
    local.reset(options={"task": task})
    expected = [local.step(action)[:2] for action in script]
    url, process = serve("rewardgym/ToolUse-v0", kwargs, 2)
    try:

        async def main() -> list[Any]:
            async with RewardgymEnvClient(url) as client:
                await client.reset(task=task)
                return [await client.step(TextAction(text=action)) for action in script]

        played = asyncio.run(main())
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert [(p.observation.text, p.reward) for p in played] == expected
    assert played[-1].done and played[-1].observation.stop == "final_answer"
    assert sum(p.reward for p in played) == pytest.approx(local.episode_return("null"))


def test_an_abandoned_session_is_closed_after_its_ttl_and_its_slot_freed():
    url, process = serve("rewardgym/ToolUse-v0", {}, 1, "--session-ttl", "2")
    task = {"prompt": "What is 2 + 2?", "reference": "4"}
    try:

        async def main() -> tuple[Any, Any]:
            abandoned = RewardgymEnvClient(url)
            await abandoned.connect()
            await abandoned.reset(task=task)  # then its client hangs: no step, no close
            await asyncio.sleep(3.5)
            async with RewardgymEnvClient(url) as fresh:  # the one slot is free again
                started = await fresh.reset(task=task)
                done = await fresh.step(TextAction(text="\\boxed{4}"))
            with pytest.raises(Exception) as gone:  # the expired session is closed
                await abandoned.step(TextAction(text="\\boxed{4}"))
            return (started, done), gone.value

        (started, done), error = asyncio.run(main())
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert started.observation.text == task["prompt"] and done.reward == 1.0
    assert "4408" in repr(error) or "SESSION_EXPIRED" in repr(error) or "closed" in repr(error)


def test_a_session_that_keeps_a_slot_by_pinging_ends_at_its_max_age():
    url, process = serve("rewardgym/ToolUse-v0", {}, 1, "--session-max-age", "3")
    task = {"prompt": "What is 2 + 2?", "reference": "4"}
    ping = '<tool_call>{"name": "calculator", "arguments": {"expression": "1+1"}}</tool_call>'
    try:

        async def main() -> tuple[int, Any]:
            answered = 0
            async with RewardgymEnvClient(url) as client:
                await client.reset(task=task)
                try:
                    for _ in range(10):  # one step a second: never idle
                        await client.step(TextAction(text=ping))
                        answered += 1
                        await asyncio.sleep(1)
                except Exception as exc:
                    return answered, exc
            return answered, None

        answered, error = asyncio.run(main())
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert error is not None and 2 <= answered <= 4


def test_unknown_environment_lists_the_registered_ones():
    run = subprocess.run(
        [sys.executable, "-m", "rewardgym", "envs", "serve", "rewardgym/Nope-v0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "rewardgym/MultiStep-v0" in run.stdout + run.stderr
