"""Prometheus metrics of the service layer (so HTTP and gRPC are counted alike).

``rewardgym_requests_total{reward, kind}`` scoring calls (kind: score | compare),
``rewardgym_items_total{reward, outcome}`` items scored (outcome: ok | error),
``rewardgym_request_seconds{reward, kind}`` the time of one call.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["ITEMS", "REQUESTS", "REQUEST_SECONDS"]

REQUESTS = Counter("rewardgym_requests_total", "Scoring calls", ["reward", "kind"])
ITEMS = Counter("rewardgym_items_total", "Items scored", ["reward", "outcome"])
REQUEST_SECONDS = Histogram(
    "rewardgym_request_seconds",
    "Time of one scoring call",
    ["reward", "kind"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
