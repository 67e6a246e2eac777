"""Build a judge backend from config params (shared by every judge with the same params)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from rewardgym.errors import ConfigError
from rewardgym.judges.backends.cache import SqliteCache
from rewardgym.judges.backends.openai_compat import OpenAICompatBackend
from rewardgym.judges.base import Params

__all__ = ["BackendParams", "default_cache_path", "make_backend"]


def default_cache_path() -> Path:
    """``$REWARDGYM_CACHE_DIR/judgments.sqlite`` (default ``~/.cache/rewardgym``)."""
    root = os.environ.get("REWARDGYM_CACHE_DIR") or Path.home() / ".cache" / "rewardgym"
    return Path(root) / "judgments.sqlite"


class BackendParams(Params):
    """Where a judge sends its requests. The API key is read from an environment variable."""

    base_url: str | list[str] = Field(description="one endpoint or several (load balanced)")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="env var holding the API key")
    max_concurrency: int = Field(default=64, ge=1)
    rpm: float | None = Field(default=None, gt=0, description="requests per minute at most")
    tpm: float | None = Field(default=None, gt=0, description="tokens per minute at most")
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    cache: bool | str = Field(default=True, description="true = default path, or a path")
    structured_output: Literal["response_format", "vllm", "none"] = Field(
        default="response_format",
        description="how to constrain verdicts: OpenAI response_format json_schema, vLLM "
        "structured_outputs (json without free whitespace, choice for score tokens), or none",
    )


def make_backend(params: BackendParams) -> OpenAICompatBackend:
    """A backend for these params (call inside the event loop that will use it)."""
    api_key = ""
    if params.api_key_env:
        api_key = os.environ.get(params.api_key_env, "")
        if not api_key:
            raise ConfigError(f"the judge's API key variable {params.api_key_env} is not set")
    cache = None
    if params.cache:
        cache = SqliteCache(default_cache_path() if params.cache is True else params.cache)
    urls = [params.base_url] if isinstance(params.base_url, str) else params.base_url
    return OpenAICompatBackend(
        urls,
        params.model,
        api_key=api_key,
        max_concurrency=params.max_concurrency,
        rpm=params.rpm,
        tpm=params.tpm,
        timeout_s=params.timeout_s,
        max_retries=params.max_retries,
        cache=cache,
    )
