"""Build a judge backend from config params (shared by every judge with the same params)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError
from rewardgym.judges.backends.base import ChatBackend
from rewardgym.judges.backends.cache import CachedBackend, JudgmentCache, StoredJudgments
from rewardgym.judges.backends.openai_compat import OpenAICompatBackend
from rewardgym.judges.params import Params
from rewardgym.ledger.records import Retention
from rewardgym.ledger.stores import open_records

__all__ = [
    "BackendParams",
    "CacheDefaults",
    "cache_defaults",
    "configure_cache",
    "default_cache_path",
    "ledger_location",
    "make_backend",
    "make_cache",
    "origin",
]


@dataclass(frozen=True)
class CacheDefaults:
    """Where the reward ledger (judgments and recorded results) lives: Redis or PostgreSQL at
    ``url`` when set, else a SQLite file under ``dir`` (default ``~/.cache/rewardgym``);
    records live ``ttl_s`` (0: for ever), at most ``max_rows`` a table and ``max_bytes`` in
    all (0: no bound)."""

    dir: Path | None = None
    url: str | None = None
    ttl_s: float = 30 * 24 * 3600
    max_rows: int = 1_000_000
    max_bytes: int = 4 * 1024**3

    def retention(self) -> Retention:
        return Retention(max_age_s=self.ttl_s, max_rows=self.max_rows, max_bytes=self.max_bytes)


_DEFAULTS: CacheDefaults | None = None


def configure_cache(defaults: CacheDefaults) -> None:
    """Set the server's ledger defaults (the service does, from its ``Settings``)."""
    global _DEFAULTS
    _DEFAULTS = defaults


def cache_defaults() -> CacheDefaults:
    """The configured defaults, else the ``REWARDGYM_CACHE_*`` settings (read alone)."""
    if _DEFAULTS is not None:
        return _DEFAULTS
    from rewardgym.config import CacheSettings

    s = CacheSettings()
    return CacheDefaults(
        dir=s.cache_dir,
        url=s.cache_url,
        ttl_s=s.cache_ttl_s,
        max_rows=s.cache_max_rows,
        max_bytes=s.cache_max_bytes,
    )


def default_cache_path(defaults: CacheDefaults | None = None) -> Path:
    """``ledger.sqlite`` in the cache folder (``REWARDGYM_CACHE_DIR``, default
    ``~/.cache/rewardgym``)."""
    root = (defaults or cache_defaults()).dir or Path.home() / ".cache" / "rewardgym"
    return Path(root) / "ledger.sqlite"


def ledger_location(setting: bool | str = True, defaults: CacheDefaults | None = None) -> str:
    """The store a ``cache``/ledger setting names: ``true`` the default of ``defaults`` (else
    the server's: the URL in ``REWARDGYM_CACHE_URL`` when set, else SQLite under
    ``REWARDGYM_CACHE_DIR``); else the URL or SQLite path given."""
    if setting is True:
        defaults = defaults or cache_defaults()
        return defaults.url or str(default_cache_path(defaults))
    return str(setting)


def make_cache(setting: bool | str) -> JudgmentCache | None:
    """The cache a backend's ``cache`` param names: ``false`` none; ``true`` the server's
    ledger; a ``redis://``/``rediss://`` or ``postgresql://`` URL; or a SQLite file path.
    The cache is the ledger's ``judgments`` table there."""
    if setting is False:
        return None
    return StoredJudgments(open_records(ledger_location(setting), cache_defaults().retention()))


class BackendParams(Params):
    """Where a judge sends its requests: an OpenAI-compatible server (``kind: openai``, the
    API key read from an environment variable) or a local transformers model (``kind:
    transformers``, ``model`` = a directory or a hub id already in the local cache)."""

    kind: Literal["openai", "transformers"] = "openai"
    base_url: str | list[str] | None = Field(
        default=None, description="openai: one endpoint or several (load balanced)"
    )
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="env var holding the API key")
    max_concurrency: int = Field(default=64, ge=1)
    rpm: float | None = Field(default=None, gt=0, description="requests per minute at most")
    tpm: float | None = Field(default=None, gt=0, description="tokens per minute at most")
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    cache: bool | str = Field(
        default=True,
        description="true = the server's ledger (REWARDGYM_CACHE_URL or REWARDGYM_CACHE_DIR), "
        "false = none, a redis:// or postgresql:// URL, or a SQLite file path",
    )
    structured_output: Literal["response_format", "vllm", "none"] = Field(
        default="response_format",
        description="how to constrain verdicts: OpenAI response_format json_schema, vLLM "
        "structured_outputs (json without free whitespace, choice for score tokens), or none",
    )
    device: str = Field(default="cpu", description="transformers: cpu, cuda, cuda:1, ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_batch_size: int = Field(default=8, ge=1, le=512, description="transformers: batch")
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="transformers")

    @model_validator(mode="after")
    def _needs_url(self) -> BackendParams:
        if self.kind == "openai" and not self.base_url:
            raise ValueError("an openai backend needs base_url (one URL or a list)")
        return self


def make_backend(params: BackendParams) -> ChatBackend:
    """A backend for these params, behind its cache (call inside the event loop that will
    use it)."""
    backend = _bare_backend(params)
    cache = make_cache(params.cache)
    return backend if cache is None else CachedBackend(backend, cache, origin(params))


def origin(params: BackendParams) -> str:
    """Who answers: part of every cache key, so that two servers serving a model under the
    same name never answer for each other from a shared cache."""
    if params.kind == "transformers":
        return "transformers"
    urls = [params.base_url] if isinstance(params.base_url, str) else list(params.base_url or [])
    return "openai " + " ".join(sorted(u.rstrip("/") for u in urls))


def _bare_backend(params: BackendParams) -> ChatBackend:
    if params.kind == "transformers":
        from rewardgym.judges.backends.transformers_local import TransformersBackend

        return TransformersBackend(
            params.model,
            device=params.device,
            dtype=params.dtype,
            max_batch_size=params.max_batch_size,
            batch_wait_ms=params.batch_wait_ms,
            timeout_s=params.timeout_s,
        )
    api_key = ""
    if params.api_key_env:
        api_key = os.environ.get(params.api_key_env, "")
        if not api_key:
            raise ConfigError(f"the judge's API key variable {params.api_key_env} is not set")
    assert params.base_url is not None  # checked by the validator
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
        vllm_choices=params.structured_output == "vllm",
    )
