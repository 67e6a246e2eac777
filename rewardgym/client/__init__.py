"""Clients for a rewardgym server: HTTP (``RewardClient``, ``AsyncRewardClient``) and gRPC
(``GrpcRewardClient``). Both speak only the schema and the errors, retry what is safe to
retry (``rewardgym.client.retry``) and decode the server's errors with the same code.

gRPC is imported on first use of ``GrpcRewardClient``, so the HTTP client stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rewardgym.client.http import (
    AsyncRewardClient,
    RewardClient,
    ServerError,
    as_items,
    as_reward,
    shared_client,
)

if TYPE_CHECKING:
    from rewardgym.client.grpc import GrpcRewardClient

__all__ = [
    "AsyncRewardClient",
    "GrpcRewardClient",
    "RewardClient",
    "ServerError",
    "as_items",
    "as_reward",
    "shared_client",
]


def __getattr__(name: str) -> Any:
    if name == "GrpcRewardClient":
        from rewardgym.client.grpc import GrpcRewardClient

        return GrpcRewardClient
    raise AttributeError(f"module 'rewardgym.client' has no attribute {name!r}")
