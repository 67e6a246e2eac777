"""slime's and NeMo Gym's requests, reproduced byte for byte (neither installs on a CPU
machine: slime needs sglang and Megatron, NeMo Gym is not on PyPI), against a real server.

- slime @624b824, ``slime/rollout/rm_hub/__init__.py:remote_rm``: aiohttp
  ``session.post(args.rm_url, json={"prompt", "response", "label"})``, ``raise_for_status``,
  the JSON answer is the reward (``--reward-key`` picks from a dict).
- NeMo Gym @07d6b0d, ``nemo_gym/base_resources_server.py``: ``POST /verify`` with a
  ``BaseVerifyRequest`` (the task row, ``responses_create_params`` and a Responses-API
  ``response``), answered by the body plus ``reward``; ``resources_servers/math_with_judge``
  reads the ``output_text`` parts of the ``message`` outputs and the row's ``expected_answer``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx

from tests.conftest import Server

CASES = [  # prompt, response, label
    ("What is 6 * 7?", "<think>6 * 7</think><answer>\\boxed{42}</answer>", "42"),
    ("What is 2 + 2?", "<think>hmm</think><answer>\\boxed{5}</answer>", "4"),
]


def _plain(server: Server, reward: str) -> list[dict[str, Any]]:
    items = [{"prompt": p, "response": r, "reference": label} for p, r, label in CASES]
    body = {"reward": reward, "items": items}
    return httpx.post(f"{server.url}/v1/score", json=body, timeout=60).json()["results"]


async def _slime_remote_rm(rm_url: str, prompt: Any, response: str, label: Any) -> Any:
    """slime's remote_rm (one try; slime retries on any exception, then raises)."""
    payload = {"prompt": prompt, "response": response, "label": label}
    timeout = aiohttp.ClientTimeout(total=120)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(rm_url, json=payload) as resp,
    ):
        resp.raise_for_status()
        return await resp.json()


def test_slime_remote_rm_gets_the_reward_as_a_number(server: Server):
    url = f"{server.url}/slime/reward?reward=math_with_format"

    async def run() -> list[Any]:
        return [await _slime_remote_rm(url, p, r + "<|im_end|>", label) for p, r, label in CASES]

    rewards = asyncio.run(run())
    assert rewards == [r["score"] for r in _plain(server, "math_with_format")] == [1.0, 0.1]
    as_dict = asyncio.run(
        _slime_remote_rm(url + "&format=dict", *CASES[0][:2], CASES[0][2])  # --reward-key score
    )
    assert as_dict["score"] == 1.0 and as_dict["reward_error"] == 0.0 and "math" in as_dict


def test_slime_gets_an_error_for_a_failed_item_unless_it_asks_for_a_number(server: Server):
    url = f"{server.url}/slime/reward?reward=math"
    failed = httpx.post(url, json={"prompt": "q", "response": "2", "label": None})
    assert failed.status_code == 422 and failed.json()["error"]["code"] == "item_failed"
    fallback = httpx.post(url + "&on_error=0", json={"prompt": "q", "response": "2"})
    assert fallback.status_code == 200 and fallback.json() == 0.0


def _nemo_gym_row(prompt: str, response: str, label: str) -> dict[str, Any]:
    """A NeMo Gym verify request as its agent sends it (model_dump of BaseVerifyRequest)."""
    return {
        "responses_create_params": {
            "input": [{"role": "user", "content": prompt, "type": "message"}],
            "temperature": 1.0,
        },
        "response": {
            "id": "resp_1",
            "created_at": 0.0,
            "model": "policy",
            "object": "response",
            "output": [
                {
                    "id": "rs_1",
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": "Thinking about it."}],
                },
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": response, "annotations": []}],
                },
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        },
        "question": prompt,
        "expected_answer": label,
    }


def test_nemo_gym_verify_answers_the_row_with_its_reward(server: Server):
    rows = [_nemo_gym_row(p, r, label) for p, r, label in CASES]
    answers = [
        httpx.post(f"{server.url}/verify?reward=math_with_format", json=row).json() for row in rows
    ]
    plain = _plain(server, "math_with_format")
    assert [a["reward"] for a in answers] == [r["score"] for r in plain] == [1.0, 0.1]
    for answer, row, expected in zip(answers, rows, plain, strict=True):
        assert {k: answer[k] for k in row} == row  # BaseVerifyResponse: the body comes back
        assert answer["reward_error"] == 0.0
        assert answer["reward_components"] == expected["scores"]


def test_nemo_gym_verify_flags_a_failed_item(server: Server):
    row = _nemo_gym_row("q", "\\boxed{2}", "2")
    del row["expected_answer"]
    answer = httpx.post(f"{server.url}/verify", json=row).json()
    assert answer["reward"] == 0.0 and answer["reward_error"] == 1.0
    assert answer["reward_error_type"] == "invalid_input"
