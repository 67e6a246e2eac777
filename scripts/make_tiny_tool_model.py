#!/usr/bin/env python3
"""Build a tiny Qwen2 that calls rewardgym's environment tools, for tests and demos on a CPU.

A random model makes no tool calls, so this one is warmed up briefly (TRL's SFT, a few
hundred steps) on tool-call turns of ``rewardgym/MultiStep-v0`` (``add_step`` then
``submit``, or ``submit`` at once), ``rewardgym/MultiTurn-v0`` (``reply``, then ``reply``
again after the user's follow-up) and ``rewardgym/ToolUse-v0`` (``calculator`` on the task's
expression, then ``submit`` of what it returned), and on the ``agent`` judge's own turns (a
``calculator`` or ``python`` call that checks a claim, then a JSON verdict). Its answers are
mostly wrong: it exists to exercise the tool loop, not to do arithmetic. The tokenizer
carries TRL's ``qwen3.jinja`` chat template (tools rendered in the system prompt,
``<tool_call>`` JSON out) and TRL's response schema.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ENVS = ("rewardgym/MultiStep-v0", "rewardgym/MultiTurn-v0", "rewardgym/ToolUse-v0")


def tool_schemas(env_id: str) -> list[dict[str, Any]]:
    """The tools TRL shows the model for this environment (from the adapter's methods)."""
    import inspect

    from transformers.utils import get_json_schema

    from rewardgym.integrations.trl_env import environment_factory

    cls = environment_factory(env_id).tool_class
    methods = [
        getattr(cls, name)
        for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
        if not name.startswith("_") and name not in ("reset", "get_reward")
    ]
    return [get_json_schema(m) for m in methods]


def _call(name: str, **arguments: str) -> dict[str, Any]:
    # arguments as JSON text: a datasets table would merge every call's argument names into
    # one struct, and the model would learn to send null for the other tools' arguments
    call = {"name": name, "arguments": json.dumps(arguments)}
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": call}],
    }


def _result(name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "name": name, "content": content}


def examples(n_tasks: int, seed: int) -> list[dict[str, Any]]:
    """Prompt-completion rows (conversational, with a ``tools`` column) for the three envs."""
    import gymnasium as gym

    import rewardgym.envs  # noqa: F401  (registers the ids)
    from rewardgym.envs.datasets import env_rows

    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    steps_tools = json.dumps(tool_schemas(ENVS[0]))
    turn_tools = json.dumps(tool_schemas(ENVS[1]))
    agent_tools = json.dumps(tool_schemas(ENVS[2]))
    tasks = env_rows(gym.make(ENVS[0]), range(n_tasks))
    for task in env_rows(gym.make(ENVS[2]), range(n_tasks)):
        entry = json.loads(task["task"])["metadata"]["reasoning_gym"]["entry"]
        expression, answer = entry["metadata"]["expression"], task["reference"]
        compute = _call("calculator", expression=expression)
        rows.append({"prompt": task["prompt"], "completion": [compute], "tools": agent_tools})
        rows.append(
            {
                "prompt": [*task["prompt"], compute, _result("calculator", answer)],
                "completion": [_call("submit", answer=answer)],
                "tools": agent_tools,
            }
        )
    for task in tasks:
        user = task["prompt"]
        answer = task["reference"]
        first = rng.choice(["Let me compute.", "First the product.", "Now add."])
        rows.append(
            {"prompt": user, "completion": [_call("submit", answer=answer)], "tools": steps_tools}
        )
        rows.append(
            {"prompt": user, "completion": [_call("add_step", text=first)], "tools": steps_tools}
        )
        rows.append(
            {
                "prompt": [*user, _call("add_step", text=first), _result("add_step", first)],
                "completion": [_call("submit", answer=answer)],
                "tools": steps_tools,
            }
        )
        rows.append(
            {"prompt": user, "completion": [_call("reply", message=answer)], "tools": turn_tools}
        )
        followup = "Check your answer once more and state the final answer again."
        rows.append(
            {
                "prompt": [*user, _call("reply", message=answer), _result("reply", followup)],
                "completion": [_call("reply", message=answer)],
                "tools": turn_tools,
            }
        )
    rows.extend(judge_examples(n_tasks, rng))
    rng.shuffle(rows)
    return rows


CODE = [  # (function, a call, what it returns, claims true and false)
    ("def add(a, b):\n    return a + b", "add(2, 3)", "5", "6"),
    ("def double(x):\n    return 2 * x", "double(21)", "42", "41"),
    ("def first(xs):\n    return xs[0]", "first([4, 5, 6])", "4", "6"),
    ("def cube(x):\n    return x ** 3", "cube(3)", "27", "9"),
    ("def size(s):\n    return len(s)", "size('abcd')", "4", "3"),
]


def judge_examples(n_tasks: int, rng: random.Random) -> list[dict[str, Any]]:
    """The agent judge's own turns (its real messages, ``AgentJudge.opening``): on a claim, a
    tool call that checks it (calculator on arithmetic, python on code), then after the tool's
    result a JSON verdict."""
    import reasoning_gym

    from rewardgym.registry import RewardRegistry
    from rewardgym.schema import Item, RewardSpec

    backend = {"base_url": "http://127.0.0.1:9/v1", "model": "tiny", "cache": False}
    spec = RewardSpec.model_validate({"type": "agent", "params": {"backend": backend}})
    judge: Any = RewardRegistry([]).resolve(spec)
    tools = judge._tools(Item(prompt="", response=""))
    claims = []
    for task in reasoning_gym.create_dataset("basic_arithmetic", size=n_tasks, seed=11):
        value = task["answer"]
        said = value if rng.random() < 0.5 else str(int(float(value)) + rng.choice([-1, 1]))
        expression = task["metadata"]["expression"]
        item = Item(prompt=task["question"], response=f"The result is {said}.")
        claims.append((item, "calculator", {"expression": expression}, value, said))
    for i in range(n_tasks // 2):
        code, call, value, wrong = CODE[i % len(CODE)]
        said = value if i % 2 == 0 else wrong
        response = f"```python\n{code}\n```\n{call} returns {said}."
        item = Item(prompt="Write the function and say what it returns.", response=response)
        claims.append((item, "python", {"code": f"{code}\nprint({call})"}, value, said))
    rows = []
    for item, tool, arguments, value, said in claims:
        messages = [{"role": r, "content": c} for r, c in judge.opening(item, tools)]
        check = {"role": "assistant", "content": _tool_text(tool, arguments)}
        result = {"role": "user", "content": f"<tool_response>\n{value}\n</tool_response>"}
        right = said == value
        verdict = {
            "critique": f"The tool gives {value}; the response says {said}.",
            "score": 10 if right else 1,
        }
        verdict_turn = {"role": "assistant", "content": json.dumps(verdict)}
        rows.append({"prompt": messages, "completion": [check], "tools": "[]"})
        rows.append(
            {"prompt": [*messages, check, result], "completion": [verdict_turn], "tools": "[]"}
        )
    return rows


def _tool_text(name: str, arguments: dict[str, str]) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def build(out: Path, rows: list[dict[str, Any]], seed: int) -> None:
    """The random model and a byte-level BPE tokenizer trained on the rendered examples."""
    import trl
    from tiny_qwen2 import bpe_tokenizer, tiny_qwen2
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    template = (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text()
    draft = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()))
    corpus = [
        draft.apply_chat_template(
            r["prompt"] + r["completion"],
            tools=json.loads(r["tools"]),
            tokenize=False,
            chat_template=template,
        )
        for r in rows[:200]
    ]
    tokenizer = bpe_tokenizer(corpus, 1200, split_digits=True)
    tokenizer.chat_template = template
    model = tiny_qwen2(tokenizer, layers=2, intermediate_size=512, max_positions=2048, seed=seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def warm_up(model_dir: Path, rows: list[dict[str, Any]], steps: int, seed: int) -> None:
    """A few hundred steps of TRL SFT on the tool-call turns (completion tokens only)."""
    import datasets
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rewardgym.trainers.trl_args import common_trl_args

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = trl.SFTConfig(
        **common_trl_args(str(model_dir / "sft"), use_cpu=True, seed=seed),
        max_steps=steps,
        per_device_train_batch_size=8,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
    )
    trainer = trl.SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=config,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(model_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="the model directory to write")
    parser.add_argument("--steps", type=int, default=600, help="SFT steps of the warm-up")
    parser.add_argument("--tasks", type=int, default=64, help="tasks the examples come from")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    rows = examples(opts.tasks, opts.seed)
    build(opts.out, rows, opts.seed)
    warm_up(opts.out, rows, opts.steps, opts.seed)
    print(f"tool-calling model in {opts.out} ({len(rows)} warm-up examples, {opts.steps} steps)")


if __name__ == "__main__":
    main()
