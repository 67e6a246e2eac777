"""The same HTTP app as a Ray Serve deployment: replicas on every machine of a Ray cluster.

Each replica builds its own app from ``REWARDGYM_*`` settings (passed to the replicas in
their runtime environment) and runs the app's lifespan, so rewards are warm before Ray routes
traffic to it. Replicas are stateless; point them at one Redis (``REWARDGYM_CACHE_URL``) to
share judgments, and at shared judge backends. Needs the ``ray`` extra.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "rewardgym_deployment"]


def build_app() -> Any:
    """The FastAPI app of one replica (settings from its environment)."""
    from rewardgym.server.app import create_app

    return create_app()


def rewardgym_deployment(
    *,
    replicas: int = 2,
    env: dict[str, str] | None = None,
    max_ongoing_requests: int = 64,
    num_cpus: float = 0.0,
) -> Any:
    """A bound Ray Serve application of ``replicas`` rewardgym replicas.

    ``env`` adds settings to those of this process's ``REWARDGYM_*`` environment; ``num_cpus``
    is what Ray reserves per replica (0: none, as the replicas' own pools do the work).
    """
    from ray import serve

    from rewardgym.config import settings_environment

    env_vars = settings_environment()
    env_vars.update(env or {})
    env_vars.setdefault("REWARDGYM_GRPC_PORT", "none")  # Ray's proxy serves HTTP
    ingress = serve.ingress(build_app)()
    deployment: Any = serve.deployment(
        ingress,
        name="rewardgym",
        num_replicas=replicas,
        max_ongoing_requests=max_ongoing_requests,
        ray_actor_options={"num_cpus": num_cpus, "runtime_env": {"env_vars": env_vars}},
    )
    return deployment.bind()
