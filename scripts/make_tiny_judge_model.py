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

    from tiny_qwen2 import bpe_tokenizer, tiny_qwen2

    tokenizer = bpe_tokenizer(corpus(), 1024)
    tokenizer.chat_template = CHAT_TEMPLATE
    model = tiny_qwen2(
        tokenizer, layers=2, intermediate_size=256, max_positions=2048, seed=opts.seed
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(opts.out)
    tokenizer.save_pretrained(opts.out)
    print(
        f"wrote a {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M-parameter model "
        f"with a {len(tokenizer)}-token vocabulary to {opts.out}"
    )


if __name__ == "__main__":
    main()
