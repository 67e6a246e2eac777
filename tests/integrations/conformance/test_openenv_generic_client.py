"""openenv-core 0.3.0's own generic client (``openenv.core.GenericEnvClient``, which knows
nothing of rewardgym) against ``rewardgym envs serve``: an episode with dict actions, the
refusal beyond ``--max-sessions`` (every trial must say CAPACITY_REACHED, not a bare close),
and plain HTTP, where OpenEnv's routes are stateless (reset answers; step and state say to
use a session, never 500)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import httpx
import pytest

from rewardgym.envs.datasets import env_rows

pytest.importorskip("openenv.core", reason="the openenv extra is not installed")

from openenv.core import GenericEnvClient

from tests.integrations.test_openenv import ARITHMETIC, serve

pytestmark = pytest.mark.slow

TRIALS = 12


@pytest.fixture(scope="module")
def two_sessions() -> Iterator[str]:
    url, process = serve("rewardgym/ReasoningGym-v0", ARITHMETIC, 2)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_the_generic_client_plays_an_episode(two_sessions: str):
    [row] = env_rows(gym.make("rewardgym/ReasoningGym-v0", **ARITHMETIC), range(1))

    async def main() -> Any:
        async with GenericEnvClient(two_sessions) as env:
            first = await env.reset(task=json.loads(row["task"]))
            step = await env.step({"text": row["reference"]})
            return first, step

    first, step = asyncio.run(main())
    assert first.observation["text"] == row["prompt"][-1]["content"]
    assert step.reward == 1.0 and step.done


def test_every_client_beyond_capacity_is_told_capacity_reached(two_sessions: str):
    async def main() -> list[str]:
        held = [GenericEnvClient(two_sessions) for _ in range(2)]
        for env in held:
            await env.reset()
        refusals = []
        for _ in range(TRIALS):
            extra = GenericEnvClient(two_sessions, message_timeout_s=10)
            try:
                await extra.reset()
                refusals.append("accepted")
            except Exception as exc:  # whatever the generic client raises, it must say why
                refusals.append(f"{type(exc).__name__}: {exc}")
            finally:
                await extra.close()
        for env in held:
            await env.close()
        return refusals

    refusals = asyncio.run(main())
    assert all("CAPACITY_REACHED" in r for r in refusals), refusals


def test_plain_http_reset_answers_and_step_says_to_use_a_session(two_sessions: str):
    reset = httpx.post(f"{two_sessions}/reset", json={})
    assert reset.status_code == 200 and reset.json()["observation"]["text"]
    step = httpx.post(f"{two_sessions}/step", json={"action": {"text": "42"}})
    assert step.status_code == 409 and "WebSocket" in step.json()["detail"]
    state = httpx.get(f"{two_sessions}/state")
    assert state.status_code == 409
