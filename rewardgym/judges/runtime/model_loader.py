"""Load transformers models once per process: (kind, path, device, dtype) -> (model, tokenizer).

Kinds: ``sequence_classification`` (reward models), ``token_classification`` (PRM heads) and
``causal_lm`` (PRMs read from next-token probabilities, policies of the implicit reward).
Missing local paths and hub ids that are not in the local cache are configuration errors that
say so, raised when a reward starts, not on the first item.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from rewardgym.errors import ConfigError

__all__ = ["ModelKind", "load_pretrained", "resolve_device", "unload"]

ModelKind = Literal["sequence_classification", "token_classification", "causal_lm"]

_LOADED: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is present, else ``cpu``; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_pretrained(
    kind: ModelKind, path: str, device: str = "auto", dtype: str = "auto"
) -> tuple[Any, Any]:
    """(model in eval mode on ``device``, tokenizer with a pad token), cached per process."""
    device = resolve_device(device)
    key = (kind, path, device, dtype)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        import torch
        import transformers

        cls = {
            "sequence_classification": transformers.AutoModelForSequenceClassification,
            "token_classification": transformers.AutoModelForTokenClassification,
            "causal_lm": transformers.AutoModelForCausalLM,
        }[kind]
        local = Path(path).expanduser()
        # a hub id is read from the local cache only: a server never fetches at scoring time
        cache_only = not local.exists()
        source = path if cache_only else str(local)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=cache_only
            )
            torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
            model = cls.from_pretrained(source, dtype=torch_dtype, local_files_only=cache_only).to(
                device
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot load the {kind} model {path!r}: not a local directory, and not in "
                f"the local Hugging Face cache ({exc.__class__.__name__})"
            ) from exc
        model.eval()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        if getattr(model.config, "pad_token_id", None) is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        _LOADED[key] = (model, tokenizer)
        return model, tokenizer


def unload(path: str) -> int:
    """Forget every loaded copy of ``path``; returns how many were dropped."""
    with _LOCK:
        keys = [k for k in _LOADED if k[1] == path]
        for k in keys:
            del _LOADED[k]
    return len(keys)
