"""End-of-sequence and padding text that trainers leave on a decoded response.

A trainer that decodes with ``skip_special_tokens=False`` (OpenRLHF's agent executor does)
sends the response with the tokenizer's end-of-sequence text, and perhaps padding, at its end:
``"... \\boxed{2}<|im_end|>"``. A format reward that wants the answer last, or an exact match,
then fails a perfect answer with no error. ``strip_end_texts`` removes such text from the end
only (the same text inside a response is the response's own).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["END_TEXTS", "compat_end_texts", "strip_end_texts"]

END_TEXTS: tuple[str, ...] = (
    "<|im_end|>",  # ChatML, Qwen
    "<|endoftext|>",  # Qwen, GPT-2, Phi
    "<|eot_id|>",  # Llama 3
    "<|end_of_text|>",  # Llama 3
    "<|end|>",  # Phi 3
    "</s>",  # Llama 2, Mistral
    "<eos>",  # Gemma
    "<end_of_turn>",  # Gemma
    "<pad>",
    "<|pad|>",
    "[PAD]",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",  # DeepSeek
)


_MAX_RUN_CHARS = 256 * 1024


def strip_end_texts(text: str, end_texts: Iterable[str] = END_TEXTS) -> str:
    """``text`` without any run of ``end_texts`` (and whitespace between them) at its end.
    Linear time, bounded: one anchored match on the reversed last ``_MAX_RUN_CHARS``
    characters (more padding than that is not a trainer's)."""
    tail = text[-_MAX_RUN_CHARS:]
    match = _reversed_run(tuple(t for t in end_texts if t)).match(tail[::-1])
    return text[: len(text) - match.end()] if match else text


@functools.lru_cache(maxsize=16)
def _reversed_run(ends: tuple[str, ...]) -> re.Pattern[str]:
    if not ends:
        return re.compile(r"(?!)")
    alternatives = "|".join(re.escape(t[::-1]) for t in sorted(ends, key=len, reverse=True))
    return re.compile(rf"(?:\s*(?:{alternatives}))+")


def compat_end_texts(settings: Any) -> tuple[str, ...]:
    """The end texts of the settings (``REWARDGYM_END_TEXTS``), else ``END_TEXTS``."""
    configured = getattr(settings, "end_texts", None)
    if not configured:
        return END_TEXTS
    return tuple(t.strip() for t in configured.split(",") if t.strip())
