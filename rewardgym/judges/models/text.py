"""How an item becomes model input: chat messages, or prompt and response joined.

One function for serving and training, so a reward model trained by ``rewardgym train
reward-model`` reads exactly the text it was trained on.
"""

from __future__ import annotations

from typing import Any

from rewardgym.schema import Message

__all__ = ["conversation", "rm_text"]


def conversation(prompt: Any, response: Any) -> list[dict[str, str]]:
    """The chat messages of a (prompt, response) pair; a text prompt is one user message."""
    messages: list[dict[str, str]] = []
    if isinstance(prompt, str):
        if prompt:
            messages.append({"role": "user", "content": prompt})
    elif prompt:
        messages.extend(_plain(m) for m in prompt)
    if isinstance(response, str):
        messages.append({"role": "assistant", "content": response})
    else:
        messages.extend(_plain(m) for m in response or [])
    return messages


def _plain(message: Any) -> dict[str, str]:
    if isinstance(message, Message):
        return {"role": message.role, "content": message.content}
    return {"role": str(message["role"]), "content": str(message["content"])}


def rm_text(tokenizer: Any, prompt: Any, response: Any, *, chat_template: bool = True) -> str:
    """The text a reward model scores: the chat template over the conversation when the
    tokenizer has one (and ``chat_template``), else the turns joined by the tokenizer's
    separator token (``[SEP]`` for BERT-style encoders) or a blank line."""
    messages = conversation(prompt, response)
    if chat_template and getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(messages, tokenize=False))
    sep = getattr(tokenizer, "sep_token", None)
    joiner = f" {sep} " if sep else "\n\n"
    return joiner.join(m["content"] for m in messages)
