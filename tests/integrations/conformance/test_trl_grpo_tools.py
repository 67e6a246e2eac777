"""TRL's own ``GRPOTrainer`` with ``tools=[...]`` and rewardgym's ``RewardFunction`` on a real
server: the completions TRL hands to reward functions (assistant turns with ``tool_calls`` and
null content, ``tool`` turns) are scored without a validation error, the gold answer comes from
the dataset's ``answer`` column with no setting, and the scores equal the plain ``/v1/score``
call on the same items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.integrations.trl_reward import RewardFunction
from tests.conftest import Server

SEEN: list[dict[str, Any]] = []


def submit(answer: str) -> str:
    """Submit the final answer.

    Args:
        answer: the final answer.
    """
    return f"submitted {answer}"


class Recorded(RewardFunction):
    """The real reward function, keeping what TRL passed and what it returned."""

    def __call__(self, prompts: Any, completions: Any, **kwargs: Any) -> list[float | None]:
        values = super().__call__(prompts, completions, **kwargs)
        items = self.items(prompts, completions, **kwargs)
        SEEN.append({"items": [i.model_dump(mode="json") for i in items], "values": values})
        return values


@pytest.mark.slow
def test_grpo_with_tools_scores_through_the_server(
    server: Server,
    tool_model: Path,
    tmp_path: Path,
):
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    from transformers import AutoTokenizer

    from rewardgym.trainers.grpo import tool_calling_tokenizer
    from rewardgym.trainers.trl_args import common_trl_args

    SEEN.clear()
    import gymnasium as gym

    from rewardgym.envs.datasets import env_rows

    tasks = env_rows(gym.make("rewardgym/MultiStep-v0"), range(4))  # what the model warmed on
    rows = [{"prompt": t["prompt"], "answer": t["reference"]} for t in tasks]
    tokenizer = tool_calling_tokenizer(AutoTokenizer.from_pretrained(tool_model), str(tool_model))
    config = trl.GRPOConfig(
        **common_trl_args(str(tmp_path / "grpo"), use_cpu=True, seed=0),
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=64,
        max_tool_calling_iterations=2,
        temperature=1.0,
    )
    trainer = trl.GRPOTrainer(
        model=str(tool_model),
        reward_funcs=[Recorded("math", server.url)],
        args=config,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        tools=[submit],
    )
    trainer.train()
    assert SEEN, "TRL never called the reward function"
    items = [item for batch in SEEN for item in batch["items"]]
    values = [v for batch in SEEN for v in batch["values"]]
    assert all(item["reference"] is not None for item in items)  # read from "answer"
    assert all(isinstance(item["response"], list) for item in items)  # conversational
    body = {"reward": "math", "items": items}
    plain = httpx.post(f"{server.url}/v1/score", json=body, timeout=120).json()["results"]
    assert values == [r["score"] for r in plain]
    calls = sum(bool(m.get("tool_calls")) for item in items for m in item["response"])
    roles = {m["role"] for item in items for m in item["response"]}
    assert calls >= 1, roles  # assistant turns with tool_calls reached the reward
    print(f"\nTRL completions: {len(items)} items, {calls} tool calls, roles {sorted(roles)}")


@pytest.mark.slow
def test_trl_parsed_reasoning_and_tool_call_messages_score_on_their_text(
    server: Server,
    tool_model: Path,
):
    """The message shapes TRL's own ``parse_response`` makes of a reasoning model's turn
    (``reasoning_content``, ``tool_calls`` with dict arguments, empty content), then a tool
    turn and the final answer: scored on the last turn's text, like /v1/score."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import parse_response, qwen3_template

    tokenizer = AutoTokenizer.from_pretrained(tool_model)
    tokenizer.response_template = qwen3_template  # TRL's Qwen3 parser: <think>, <tool_call>
    call = '{"name": "submit", "arguments": {"answer": "5"}}'
    text = f"<think>\nTwo plus three.\n</think>\n\n<tool_call>\n{call}\n</tool_call><|im_end|>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    prefix = tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    turn = parse_response(tokenizer, ids, prefix=prefix)
    assert turn.get("tool_calls") and turn.get("reasoning_content"), turn
    completion = [
        turn,
        {"role": "tool", "name": "submit", "content": "submitted 5"},
        {"role": "assistant", "content": "The answer is \\boxed{5}."},
    ]
    fn = RewardFunction("math", server.url)
    [value] = fn([[{"role": "user", "content": "2 + 3?"}]], [completion], solution=["5"])
    item = fn.items([[{"role": "user", "content": "2 + 3?"}]], [completion], solution=["5"])[0]
    body = {"reward": "math", "items": [item.model_dump(mode="json")]}
    [plain] = httpx.post(f"{server.url}/v1/score", json=body, timeout=60).json()["results"]
    assert value == plain["score"] == 1.0
    print(f"\nTRL parsed turn keys: {sorted(turn)}")
