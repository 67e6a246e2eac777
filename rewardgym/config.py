"""Settings (one pydantic-settings model, ``REWARDGYM_*`` overrides) and the YAML reward config."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rewardgym.errors import ConfigError
from rewardgym.schema import RewardSpec

__all__ = [
    "CacheSettings",
    "ClientSettings",
    "RewardConfig",
    "Settings",
    "client_settings",
    "default_config_path",
    "load_reward_config",
    "settings_environment",
]


_ENV = SettingsConfigDict(env_prefix="REWARDGYM_", extra="ignore", env_parse_none_str="none")


class CacheSettings(BaseSettings):
    """Where the reward ledger lives: the LLM judges' judgments (the judgment cache) and the
    recorded results (also what a judge built outside a server reads, so one unrelated bad
    variable cannot stop it)."""

    model_config = _ENV

    cache_dir: Path | None = Field(
        default=None, description="the SQLite ledger's folder (default ~/.cache/rewardgym)"
    )
    cache_url: str | None = Field(
        default=None,
        description="redis://HOST:PORT/DB or postgresql://...: a ledger shared by every replica",
    )
    cache_ttl_s: float = Field(
        default=30 * 24 * 3600, ge=0, description="ledger records live this long; 0 = for ever"
    )
    cache_max_rows: int = Field(
        default=1_000_000, ge=0, description="ledger records per table at most; 0 = no bound"
    )
    cache_max_bytes: int = Field(
        default=4 * 1024**3,
        ge=0,
        description="ledger bytes at most (SQLite, PostgreSQL; Redis: its maxmemory); 0 = none",
    )


class Settings(CacheSettings):
    """Server settings; each field can be set as ``REWARDGYM_<FIELD>`` (``REWARDGYM_PORT``)."""

    model_config = _ENV

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    grpc_port: int | None = Field(
        default=50051,
        ge=0,
        le=65535,
        description="gRPC port; none (REWARDGYM_GRPC_PORT=none) = off",
    )
    config: Path | None = Field(default=None, description="reward config YAML; None = built-in")
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_items: int = Field(default=10_000, gt=0, description="items per request at most")
    max_pending_items: int = Field(
        default=100_000,
        gt=0,
        description="items being scored at once, all calls together; beyond: 503 + Retry-After",
    )
    retry_after_s: float = Field(default=2.0, gt=0, description="Retry-After when overloaded")
    shutdown_grace_s: float = Field(
        default=30.0, ge=0, description="on SIGTERM, how long in-flight calls may finish"
    )
    request_deadline_s: float = Field(default=300.0, gt=0, description="default per request")
    max_inline_specs: int = Field(default=256, gt=0, description="inline specs kept built")
    openrlhf_reward: str = Field(
        default="math", description="the reward POST /get_reward uses (?reward=NAME overrides)"
    )
    openrlhf_on_error: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="/get_reward's value for a failed item (flagged in extra_logs)",
    )
    slime_reward: str = Field(
        default="math", description="the reward POST /slime/reward uses (?reward=NAME overrides)"
    )
    nemo_gym_reward: str = Field(
        default="math", description="the reward POST /verify (NeMo Gym) uses by default"
    )
    nemo_gym_on_error: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="/verify's reward for a failed item (flagged in reward_error)",
    )
    end_texts: str | None = Field(
        default=None,
        description="comma-separated end-of-sequence/padding texts the compatibility routes "
        "strip from a response's end (default: the common chat templates' own)",
    )
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object a line, with the request id"
    )
    api_keys: str | None = Field(
        default=None, description="comma-separated bearer keys; none = auth off", repr=False
    )
    api_keys_file: Path | None = Field(default=None, description="one key per line")
    trusted_api_keys: str | None = Field(
        default=None,
        description="comma-separated keys (accepted too) whose inline specs may set every "
        "parameter, host-touching ones included",
        repr=False,
    )
    inline_specs: Literal["off", "safe", "any"] = Field(
        default="safe",
        description="what API callers may send inline: off (named rewards only), safe (only "
        "parameters that cannot touch the host), any (everything: a single-user machine only)",
    )
    inline_max_nesting: int = Field(default=8, ge=1, le=64, description="specs inside specs")
    inline_max_json_depth: int = Field(default=64, ge=4, le=256, description="params nesting")
    inline_max_json_nodes: int = Field(default=20_000, ge=10, description="values in params")
    inline_max_params_chars: int = Field(
        default=256 * 1024, ge=1, description="text in an inline spec's params (all strings)"
    )
    inline_max_formula_chars: int = Field(default=2_000, ge=1, le=2_000)
    rule_batch_timeout_s: float = Field(
        default=60.0, gt=0, description="a rule batch in a worker process is killed after this"
    )
    regex_max_pattern_chars: int = Field(default=2_000, ge=1, description="user regex length")
    regex_max_mem_bytes: int = Field(
        default=2 * 1024 * 1024, ge=64 * 1024, description="RE2 memory per compiled pattern"
    )
    regex_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="compiled user patterns kept, by size"
    )
    rate_limit: float | None = Field(default=None, gt=0, description="requests/s per key")
    rate_burst: int = Field(default=20, ge=1, description="requests at once per key")
    ledger_record: Literal["asked", "all"] = Field(
        default="asked",
        description="which results go to the reward ledger: those whose request asks "
        "(options.ledger) or all (for rescore and replay of a whole run)",
    )
    health_window: int = Field(
        default=2000,
        ge=20,
        le=100_000,
        description="results per reward in each health window: the baseline (the first seen) "
        "and the recent one (drift compares them)",
    )
    ledger_max_entry_bytes: int = Field(
        default=256 * 1024, ge=1024, description="a larger result (item included): unrecorded"
    )
    audit_per_minute: float = Field(
        default=6.0,
        ge=0,
        le=600,
        description="audits each LLM judge gets per minute beside real traffic, all kinds "
        "together (a known-bad reply, a re-judge with its inputs permuted, a check by the rule "
        "it shadows): bounded extra backend calls, in the background; rules and reward models "
        "are never audited; 0: off",
    )


def settings_environment() -> dict[str, str]:
    """This process's ``REWARDGYM_*`` variables, for processes it starts with the same
    settings (Ray Serve replicas)."""
    return {k: v for k, v in os.environ.items() if k.startswith("REWARDGYM_")}


class ClientSettings(BaseSettings):
    """What a client-side adapter reads from the environment when its caller does not say
    (verl's ``compute_score``, the clients' API key): ``REWARDGYM_URL``, ``REWARDGYM_API_KEY``,
    ``REWARDGYM_REWARD``, ``REWARDGYM_TIMEOUT_S``, ``REWARDGYM_RETRY_BUDGET_S``,
    ``REWARDGYM_ON_ERROR``."""

    model_config = _ENV

    url: str = Field(default="http://127.0.0.1:8000", description="the reward server")
    api_key: str | None = Field(default=None, description="sent as a bearer token")
    reward: str = Field(default="math", description="the reward an adapter uses by default")
    timeout_s: float = Field(default=120.0, gt=0, description="each HTTP call at most")
    retry_budget_s: float = Field(
        default=300.0, ge=0, description="retry connection errors and 429/5xx this long in all"
    )
    on_error: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="verl's score for a failed item (its slot takes only numbers)",
    )


def client_settings() -> ClientSettings:
    """``ClientSettings`` as the environment has them now."""
    return ClientSettings()


class RewardConfig(BaseModel):
    """The YAML file: named judge backends (optional) and a list of named rewards."""

    model_config = ConfigDict(extra="forbid")

    backends: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="judge backends by name; a judge's `backend: NAME` uses one (and so may "
        "an API caller's inline spec, which cannot describe a backend of its own)",
    )
    rewards: list[RewardSpec] = Field(default_factory=list)


def default_config_path() -> Path:
    """The config shipped inside the package (used when none is given)."""
    return Path(str(resources.files("rewardgym") / "default_config.yaml"))


def load_reward_config(path: Path | str | None = None) -> RewardConfig:
    """Read and validate a reward config; errors name the file and the field."""
    source = Path(path) if path is not None else default_config_path()
    try:
        raw: Any = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read reward config {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"reward config {source} is not valid YAML: {exc}") from exc
    try:
        config = RewardConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"reward config {source} is invalid:\n{exc}") from exc
    names = [spec.name for spec in config.rewards]
    missing = [i for i, name in enumerate(names) if not name]
    if missing:
        raise ConfigError(f"reward config {source}: entries {missing} have no name")
    dupes = sorted({n for n in names if names.count(n) > 1 if n})
    if dupes:
        raise ConfigError(f"reward config {source}: duplicate names {dupes}")
    return config
