"""Tiny random Qwen2 chat models with byte-level BPE tokenizers, for tests and CPU demos.

Shared by make_tiny_judge_model.py, make_tiny_tool_model.py and demo_cpu_training.py (each
script runs with scripts/ on sys.path). Deterministic for a seed and a corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["SPECIAL", "bpe_tokenizer", "tiny_qwen2"]

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def bpe_tokenizer(corpus: Iterable[str], vocab_size: int, *, split_digits: bool = False) -> Any:
    """A byte-level BPE trained on ``corpus`` (digits one token each when ``split_digits``),
    ``<|im_end|>`` as end of sequence and ``<|endoftext|>`` as padding."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if split_digits
        else byte_level
    )
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )


def tiny_qwen2(
    tokenizer: Any, *, layers: int, intermediate_size: int, max_positions: int, seed: int
) -> Any:
    """A random float32 Qwen2 (hidden 128, 2 heads of 64: the CPU attention kernel of vLLM
    rejects smaller heads) sized to ``tokenizer``."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        bos_token_id=None,
    )
    return Qwen2ForCausalLM(config).to(torch.float32)
