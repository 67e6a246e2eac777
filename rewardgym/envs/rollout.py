"""Run a policy over an environment and collect trajectories as table rows.

A policy is any callable from a batch of prompts to a batch of texts
(``policy(observations) -> actions``); one with ``chat = True`` gets the chat messages of each
episode instead (``TransformersPolicy`` does, applying the model's chat template). With a
``BatchedTextEnv`` all sub-environments act together and each step is one reward call.

Each row is one episode, with columns of fixed types so a list of rows loads straight into
``datasets.Dataset.from_list`` (``to_dataset``): ``task_id``, ``prompt``, ``reference`` (text;
JSON when not a string), ``actions``, ``rewards``, ``return``, ``completion`` (the last
assistant message), ``stop``, ``results`` (one JSON text per step), ``messages`` (JSON).
``to_dpo_pairs`` and ``to_grpo_groups`` turn rows into DPO pairs or GRPO groups.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

from rewardgym.envs.base import TextEnv
from rewardgym.envs.vector import BatchedTextEnv
from rewardgym.progress import progress_bar
from rewardgym.schema import Result

__all__ = [
    "Policy",
    "TransformersPolicy",
    "collect",
    "to_dataset",
    "to_dpo_pairs",
    "to_grpo_groups",
]

Policy = Callable[[list[Any]], list[str]]


class TransformersPolicy:
    """A transformers causal LM as a policy: chat template, then generation (batched).

    Args:
        model, tokenizer: a loaded model and its tokenizer (the tokenizer has a chat template).
        max_new_tokens, temperature: sampling (temperature 0 = greedy).
    """

    chat = True

    def __init__(
        self, model: Any, tokenizer: Any, *, max_new_tokens: int = 128, temperature: float = 1.0
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"

    def __call__(self, conversations: list[list[dict[str, str]]]) -> list[str]:
        import torch

        prompts = []
        for messages in conversations:
            partial = messages[-1]["role"] == "assistant"
            prompts.append(
                self.tokenizer.apply_chat_template(
                    messages,
                    tokenize=False,
                    add_generation_prompt=not partial,
                    continue_final_message=partial,
                )
            )
        inputs = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        )
        inputs = {k: v.to(self.model.device) for k, v in inputs.items()}
        sampling = self.temperature > 0
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=sampling,
                temperature=self.temperature if sampling else None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[:, inputs["input_ids"].shape[1] :]
        return [self.tokenizer.decode(ids, skip_special_tokens=True) for ids in new]


def _act(policy: Policy, observations: Sequence[str], messages: Sequence[Any]) -> list[str]:
    batch = list(messages) if getattr(policy, "chat", False) else list(observations)
    actions = policy(batch)
    if len(actions) != len(batch):
        raise ValueError(f"the policy returned {len(actions)} texts for {len(batch)} prompts")
    return [str(a) for a in actions]


class _Episode:
    def __init__(self, info: dict[str, Any]) -> None:
        self.task = info["task"]
        self.actions: list[str] = []
        self.rewards: list[float] = []
        self.results: list[str] = []
        self.messages: list[dict[str, str]] = info["messages"]
        self.stop: str | None = None

    def record(self, action: str, reward: float, info: dict[str, Any]) -> None:
        self.actions.append(action)
        self.rewards.append(float(reward))
        result = info.get("result")
        self.results.append(result.model_dump_json() if isinstance(result, Result) else "null")
        self.messages = info["messages"]
        self.stop = info.get("stop")

    def row(self) -> dict[str, Any]:
        prompt = self.task["prompt"]
        reference = self.task.get("reference")
        assistant = [m["content"] for m in self.messages if m["role"] == "assistant"]
        return {
            "task_id": str(self.task.get("id") or ""),
            "prompt": prompt if isinstance(prompt, str) else json.dumps(prompt),
            "reference": reference if isinstance(reference, str) else json.dumps(reference),
            "actions": self.actions,
            "rewards": self.rewards,
            "return": math.fsum(self.rewards),
            "completion": assistant[-1] if assistant else "",
            "stop": self.stop or "",
            "results": self.results,
            "messages": json.dumps(self.messages, ensure_ascii=False),
        }


def collect(
    env: gym.Env[Any, Any] | BatchedTextEnv,
    policy: Policy,
    episodes: int,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run ``policy`` for ``episodes`` episodes; one row per finished episode.

    ``seed`` makes task sampling reproducible; ``options`` goes to every ``reset`` (e.g.
    ``{"task": row}`` to roll out one task many times, a GRPO group).
    """
    with progress_bar(disable=not progress) as bar:
        job = bar.add_task("rollouts", total=episodes)
        if isinstance(env, BatchedTextEnv):
            rows = _collect_vector(env, policy, episodes, seed, options, lambda: bar.advance(job))
        else:
            rows = _collect_single(env, policy, episodes, seed, options, lambda: bar.advance(job))
    return rows


def _collect_single(
    env: gym.Env[Any, Any],
    policy: Policy,
    episodes: int,
    seed: int | None,
    options: dict[str, Any] | None,
    tick: Callable[[], None],
) -> list[dict[str, Any]]:
    if not isinstance(env.unwrapped, TextEnv):
        raise TypeError("collect() needs a rewardgym text environment")
    rows = []
    for n in range(episodes):
        obs, info = env.reset(seed=None if seed is None else seed + n, options=options)
        episode = _Episode(info)
        done = False
        while not done:
            [action] = _act(policy, [obs], [info["messages"]])
            obs, reward, terminated, truncated, info = env.step(action)
            episode.record(action, float(reward), info)
            done = terminated or truncated
        rows.append(episode.row())
        tick()
    return rows


def _collect_vector(
    env: BatchedTextEnv,
    policy: Policy,
    episodes: int,
    seed: int | None,
    options: dict[str, Any] | None,
    tick: Callable[[], None],
) -> list[dict[str, Any]]:
    n = env.num_envs
    obs, infos = env.reset(seed=seed, options=options)
    live = [_Episode(_row_info(infos, i)) for i in range(n)]
    resetting = [False] * n
    rows: list[dict[str, Any]] = []
    while len(rows) < episodes:
        acting = [i for i in range(n) if not resetting[i]]
        messages = [_row_info(infos, i)["messages"] for i in acting]
        chosen = _act(policy, [obs[i] for i in acting], messages) if acting else []
        actions = [""] * n
        for i, action in zip(acting, chosen, strict=True):
            actions[i] = action
        obs, rewards, terminated, truncated, infos = env.step(actions)
        for i in range(n):
            info = _row_info(infos, i)
            if resetting[i]:  # this step reset it: a new episode starts
                live[i] = _Episode(info)
                resetting[i] = False
                continue
            live[i].record(actions[i], float(rewards[i]), info)
            if terminated[i] or truncated[i]:
                resetting[i] = True
                if len(rows) < episodes:
                    rows.append(live[i].row())
                    tick()
    return rows


def _row_info(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Sub-environment ``i``'s info out of the vector layout."""
    return {
        k: v[i] for k, v in infos.items() if not k.startswith("_") and infos.get(f"_{k}", [1])[i]
    }


def to_dataset(rows: list[dict[str, Any]]) -> Any:
    """The rows as a ``datasets.Dataset`` (``pip install datasets``)."""
    from datasets import Dataset

    return Dataset.from_list(rows)


def to_grpo_groups(rows: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """prompt -> [(completion, return), ...]: the groups GRPO normalises within."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        groups.setdefault(row["prompt"], []).append((row["completion"], row["return"]))
    return groups


def to_dpo_pairs(rows: list[dict[str, Any]], min_margin: float = 0.0) -> list[dict[str, Any]]:
    """One DPO pair per prompt: the best episode (chosen) and the worst (rejected), when their
    returns differ by more than ``min_margin``. Episodes with a NaN return are left out."""
    pairs = []
    for prompt, group in to_grpo_groups(rows).items():
        scored = [(c, r) for c, r in group if not math.isnan(r)]
        if len(scored) < 2:
            continue
        best = max(scored, key=lambda cr: cr[1])
        worst = min(scored, key=lambda cr: cr[1])
        if best[1] - worst[1] > min_margin:
            pairs.append(
                {
                    "prompt": prompt,
                    "chosen": best[0],
                    "rejected": worst[0],
                    "score_chosen": best[1],
                    "score_rejected": worst[1],
                }
            )
    return pairs
