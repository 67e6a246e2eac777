"""compose.yaml, the Dockerfile and the server's settings agree (parsed: no Docker engine here).

Service names, ports, health endpoints and every REWARDGYM_* variable are checked against the
Settings model and the reward config the compose file mounts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from rewardgym.config import Settings, load_reward_config
from rewardgym.registry import RewardRegistry

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
_VAR = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def expand(value: Any) -> str:
    """Compose's ${VAR:-default} with the default (or empty), as on a machine with no .env."""
    return _VAR.sub(lambda m: m.group(2) if m.group(0).find(":-") > 0 else "", str(value))


def server_env() -> dict[str, str]:
    return {k: expand(v) for k, v in SERVICES["server"]["environment"].items()}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_every_rewardgym_variable_is_a_setting():
    fields = {f"REWARDGYM_{name.upper()}" for name in Settings.model_fields}
    from_compose = {k for k in server_env() if k.startswith("REWARDGYM_")}
    from_docker = set(re.findall(r"(REWARDGYM_\w+)=", DOCKERFILE))
    assert from_compose - fields == set(), "compose sets variables the server does not read"
    assert from_docker - fields == set(), "the Dockerfile sets variables the server does not read"
    assert {"REWARDGYM_PORT", "REWARDGYM_GRPC_PORT", "REWARDGYM_CONFIG"} <= from_compose


def test_server_settings_parse_from_the_compose_environment(monkeypatch: pytest.MonkeyPatch):
    settings = settings_from(server_env(), monkeypatch)
    assert settings.host == "0.0.0.0" and settings.log_format == "json"
    assert settings.rate_limit is None and not settings.api_keys and not settings.cache_url
    assert "ports" not in SERVICES["server"]  # replicas share no host port: --scale works
    exposed = {int(p) for p in SERVICES["server"]["expose"]}
    assert exposed == {settings.port, settings.grpc_port}
    balancer = {k: expand(v) for k, v in SERVICES["lb"]["environment"].items()}
    assert balancer["REWARDGYM_REPLICAS"] == "server"
    assert int(balancer["REWARDGYM_HTTP_PORT"]) == settings.port
    assert int(balancer["REWARDGYM_GRPC_PORT"]) == settings.grpc_port
    published = {int(expand(p).split(":")[1]) for p in SERVICES["lb"]["ports"]}
    assert published == {
        int(balancer["REWARDGYM_LB_HTTP_PORT"]),
        int(balancer["REWARDGYM_LB_GRPC_PORT"]),
    }
    mounted = dict(reversed(v.split(":")[:2]) for v in SERVICES["lb"]["volumes"])
    assert mounted["/usr/local/etc/haproxy/haproxy.cfg"] == "./deploy/haproxy.cfg"
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert set(re.findall(r"\$\{(REWARDGYM_\w+)\}", config)) == set(balancer)
    assert settings.shutdown_grace_s < _seconds(SERVICES["server"]["stop_grace_period"])


def test_the_mounted_reward_config_loads_and_its_judge_is_the_judge_service(
    monkeypatch: pytest.MonkeyPatch,
):
    settings = settings_from(server_env(), monkeypatch)
    mounts = dict(reversed(v.split(":")[:2]) for v in SERVICES["server"]["volumes"])
    source = ROOT / mounts[str(settings.config)]
    config = load_reward_config(source)
    registry = RewardRegistry(config.rewards, backends=config.backends)
    judges = [s for s in config.rewards if "backend" in s.params]
    assert judges, "the compose config should show a judge on the judge service"
    for spec in judges:
        registry.get(spec.name)  # builds: params valid
        backend = registry.backend_params(spec.params["backend"])
        url = urlparse(str(backend.base_url))
        assert url.hostname == "judge" and backend.model == "judge"
        for name in ("judge", "judge-cpu"):
            command = " ".join(SERVICES[name]["command"])
            assert f"--port={url.port}" in command and "--served-model-name=judge" in command
    aliases = SERVICES["judge-cpu"]["networks"]["default"]["aliases"]
    assert "judge" in aliases  # the CPU judge answers at the same host name


def test_judge_services_take_the_model_from_the_environment_and_the_gpu_one_reserves_a_gpu():
    for name, profile in (("judge", "gpu"), ("judge-cpu", "cpu")):
        service = SERVICES[name]
        assert service["profiles"] == [profile]
        assert any("${JUDGE_MODEL" in arg for arg in service["command"])
        assert "/health" in " ".join(service["healthcheck"]["test"])
    devices = SERVICES["judge"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["driver"] == "nvidia"
    assert "cpu" in SERVICES["judge-cpu"]["image"]


def test_redis_is_optional_and_its_url_reaches_it(monkeypatch: pytest.MonkeyPatch):
    redis = SERVICES["redis"]
    assert redis["profiles"] == ["redis"]
    assert SERVICES["server"]["depends_on"]["redis"]["required"] is False
    # the deploy page's URL for the redis profile names this service on Redis's port
    page = (ROOT / "docs" / "deploy.md").read_text()
    url = urlparse(re.search(r"REWARDGYM_CACHE_URL=(redis://\S+)", page).group(1))  # type: ignore[union-attr]
    assert url.hostname == "redis" and url.port == 6379
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])


def test_health_checks_use_the_server_s_ready_endpoint():
    assert SERVICES["server"]["healthcheck"]["test"] == ["CMD", "rewardgym", "healthcheck"]
    assert 'CMD ["rewardgym", "healthcheck"]' in DOCKERFILE
    for service in ("judge", "judge-cpu", "redis"):
        dependency = SERVICES["server"]["depends_on"][service]
        assert dependency["condition"] == "service_healthy"


def test_dockerfile_is_multi_stage_and_runs_unprivileged():
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", DOCKERFILE, flags=re.M)
    assert len(stages) >= 2 and "COPY --from=build" in DOCKERFILE
    user = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    exposed = {
        int(p) for p in re.search(r"^EXPOSE\s+(.+)$", DOCKERFILE, flags=re.M).group(1).split()
    }  # type: ignore[union-attr]
    defaults = Settings.model_fields
    assert exposed == {defaults["port"].default, defaults["grpc_port"].default}
    assert re.search(r"^HEALTHCHECK\b", DOCKERFILE, flags=re.M)


def test_healthcheck_command_follows_readiness(server: Any):
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "rewardgym", "healthcheck", "--url", server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "ready" in ok.stdout
    down = subprocess.run(
        [sys.executable, "-m", "rewardgym", "healthcheck", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and "not reachable" in down.stdout


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_the_openenv_service_serves_an_environment_scored_by_the_server():
    from rewardgym.envs.registration import ENV_IDS

    service = SERVICES["envs"]
    assert service["profiles"] == ["envs"] and "openenv" in service["build"]["args"]["EXTRAS"]
    assert service["entrypoint"] == ["rewardgym", "envs", "serve"]
    args = [expand(a) for a in service["command"]]
    assert args[0] in ENV_IDS
    url = urlparse(next(a for a in args if a.startswith("--url=")).split("=", 1)[1])
    server_port = int(server_env()["REWARDGYM_PORT"])
    assert url.hostname == "server" and url.port == server_port
    port = next(a for a in args if a.startswith("--port=")).split("=", 1)[1]
    assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"]["server"]["condition"] == "service_healthy"
