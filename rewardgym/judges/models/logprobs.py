"""Per-token log-probabilities of a response under a causal LM, batched and right-padded.

The prompt goes through the tokenizer's chat template with a generation prompt (or stays plain
text without one); the response is tokenized on its own and appended, so the response tokens
are exactly the ones scored.
"""

from __future__ import annotations

from typing import Any

from rewardgym.judges.models.text import conversation

__all__ = ["encode_pair", "response_logprobs"]


def encode_pair(
    tokenizer: Any, prompt: Any, response: str, *, chat_template: bool = True
) -> tuple[list[int], list[int]]:
    """(prompt token ids, response token ids) of one item."""
    messages = conversation(prompt, "")[:-1]  # the prompt's messages, no assistant turn
    if chat_template and getattr(tokenizer, "chat_template", None) and messages:
        prompt_ids = tokenizer.apply_chat_template(
            messages, tokenize=True, add_generation_prompt=True, return_dict=False
        )
        if hasattr(prompt_ids, "tolist"):
            prompt_ids = prompt_ids.tolist()
    else:
        text = "\n".join(m["content"] for m in messages)
        prompt_ids = tokenizer(text, add_special_tokens=True)["input_ids"] if text else []
    if not prompt_ids and tokenizer.bos_token_id is not None:
        prompt_ids = [tokenizer.bos_token_id]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return list(prompt_ids), list(response_ids)


def response_logprobs(
    model: Any, pad_id: int, pairs: list[tuple[list[int], list[int]]]
) -> list[list[float]]:
    """log p(response token t | prompt, response tokens < t) for each pair, one batch."""
    import torch

    if not pairs:
        return []
    sequences = [p + r for p, r in pairs]
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    with torch.inference_mode():
        logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
        logps = torch.log_softmax(logits.float(), dim=-1).cpu()
    out = []
    for row, (prompt, response) in enumerate(pairs):
        start = len(prompt)
        positions = torch.arange(start - 1, start - 1 + len(response))
        targets = torch.tensor(response, dtype=torch.long)
        out.append(logps[row, positions, targets].tolist() if response else [])
    return out
