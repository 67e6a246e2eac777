"""OpenRLHF 0.11.2's own ``SingleTurnAgentExecutor`` (``openrlhf/utils/agent.py``) against a
real server's ``/get_reward``: it decodes prompt + response with ``skip_special_tokens=False``
(so the query ends in ``<|im_end|>``), posts ``{query, prompts, labels}`` with aiohttp and reads
``rewards``/``scores``/``extra_logs``. The generation engine is a stand-in that returns fixed
token ids (fault injection: no vLLM here; the reward path is OpenRLHF's own). With API keys on,
OpenRLHF cannot send a header: the key goes in the URL path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server

CASES = [  # prompt, response, label
    ("Q: 6 * 7?\nA: ", "<think>6 * 7</think><answer>\\boxed{42}</answer>", "42"),
    ("Q: 2 + 2?\nA: ", "<think>hmm</think><answer>\\boxed{5}</answer>", "4"),
]


class _Engine:
    """Answers each prompt with the tokens of its fixed response and the end-of-turn token."""

    def __init__(self, tokenizer: Any, responses: dict[str, str]) -> None:
        self.tokenizer = tokenizer
        self.responses = responses

    async def generate(self, prompt_ids: list[int], params: Any, multi_modal_data: Any = None):
        prompt = self.tokenizer.decode(prompt_ids)
        ids = self.tokenizer(self.responses[prompt], add_special_tokens=False)["input_ids"]
        ids = [*ids, self.tokenizer.convert_tokens_to_ids("<|im_end|>")]
        output = SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


def _execute(url: str, tokenizer: Any) -> list[dict[str, Any]]:
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    executor = SingleTurnAgentExecutor(remote_rm_url=url)
    engine = _Engine(tokenizer, {p: r for p, r, _ in CASES})
    params = SimpleNamespace(max_tokens=64, logprobs=None)

    async def run() -> list[dict[str, Any]]:
        return [
            await executor.execute(p, label, params, 512, tokenizer, engine)
            for p, _, label in CASES
        ]

    return asyncio.run(run())


@pytest.fixture(scope="module")
def tokenizer(tiny_judge_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_judge_dir)


def test_openrlhf_agent_executor_scores_like_v1_score(peers: Path, server: Server, tokenizer: Any):
    outputs = _execute(f"{server.url}/get_reward?reward=math_with_format", tokenizer)
    items = [{"prompt": p, "response": r, "reference": label} for p, r, label in CASES]
    body = {"reward": "math_with_format", "items": items}
    plain = httpx.post(f"{server.url}/v1/score", json=body, timeout=60).json()["results"]
    assert [o["reward"] for o in outputs] == [[r["score"]] for r in plain] == [[1.0], [0.1]]
    assert all(o["extra_logs"]["reward_error"] == [0.0] for o in outputs)


@pytest.mark.slow
def test_openrlhf_reaches_a_server_with_keys_through_the_key_in_the_path(
    peers: Path, tokenizer: Any, capfd: pytest.CaptureFixture[str]
):
    keyed = start_server({"REWARDGYM_API_KEYS": "k-openrlhf-1"}, log_level="info")
    try:
        refused = _execute(f"{keyed.url}/get_reward", tokenizer)  # no header: 401, reward lost
        assert [o["reward"] for o in refused] == [None, None]
        outputs = _execute(f"{keyed.url}/k/k-openrlhf-1/get_reward", tokenizer)
        assert [o["reward"] for o in outputs] == [[1.0], [0.0]]  # math, the default reward
        wrong = httpx.post(f"{keyed.url}/k/nope/get_reward", json={"query": ["x"]})
        assert wrong.status_code == 401
        elsewhere = httpx.post(f"{keyed.url}/k/k-openrlhf-1/v1/score", json={})
        assert elsewhere.status_code == 401  # only the compatibility routes take a key there
    finally:
        stop_server(keyed)
    logged = capfd.readouterr()
    server_log = logged.out + logged.err
    assert "POST /get_reward 200" in server_log  # the access lines were written
    assert "k-openrlhf-1" not in server_log and "/k/redacted" in server_log
