#!/usr/bin/env python3
"""Build a tiny random Qwen2 chat model with a byte-level BPE tokenizer, saved for vLLM.

Its verdicts are random: it exists so tests can run a real vLLM OpenAI-compatible server on a
CPU, offline. Run it with a Python that has torch, transformers and tokenizers (the vLLM venv).
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus() -> list[str]:
    words = [
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "score",
        "rating",
        "critique",
        "judge",
        "response",
        "answer",
        "question",
        "helpful",
        "correct",
        "wrong",
        "better",
        "worse",
        "assistant",
        "user",
        "system",
        "reference",
        "step",
        "yes",
        "no",
        "tie",
        "first",
        "second",
        "output",
        "json",
        "true",
        "false",
    ]
    lines = [" ".join(words[i:] + words[:i]) for i in range(len(words))]
    lines += [f'{i} {i / 10} -{i} [{i}] {{"score": {i}}}' for i in range(200)]
    lines += ['{"critique": "ok", "score": 7}', "Score: 5/10", "[[A]] [[B]] [[C]]"]
    lines += ["Yes No Verdict: Yes Verdict: No", '{"scores": [7, 3, 9]} Scores: 1, 2']
    lines += ['{"labels": ["correct", "incorrect"]} Step 1: correct Step 2: incorrect']
    return lines * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="directory to write the model into")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(opts.seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config).to(torch.float32)
    opts.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(opts.out)
    tokenizer.save_pretrained(opts.out)
    print(
        f"wrote a {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M-parameter model "
        f"with a {len(tokenizer)}-token vocabulary to {opts.out}"
    )


if __name__ == "__main__":
    main()
