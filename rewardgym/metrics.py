"""Prometheus metrics, defined once and counted where the work happens (so HTTP and gRPC are
counted alike, and in-process users get them too).

Scoring: ``rewardgym_requests_total{reward, kind}`` (kind: score | compare),
``rewardgym_items_total{reward, outcome}`` (ok | error), ``rewardgym_request_seconds{reward,
kind}``, ``rewardgym_rejected_total{reason}`` (overloaded | unauthorized | rate_limited),
``rewardgym_pending_items`` / ``rewardgym_in_flight_requests`` (the admission queue).
Judge backends: ``rewardgym_backend_seconds{backend}`` (one call), ``rewardgym_backend_errors_total
{backend, kind}`` (timeout | connection | http | malformed | other),
``rewardgym_cache_total{cache, outcome}`` (hit | miss | error). Worker pools (process pools and
sandbox slots): ``rewardgym_pool_busy{pool}``, ``rewardgym_pool_waiting{pool}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "BACKEND_ERRORS",
    "BACKEND_SECONDS",
    "CACHE",
    "GAUGE_NAMES",
    "ITEMS",
    "LEDGER_WRITES",
    "REJECTED",
    "REQUESTS",
    "REQUEST_SECONDS",
    "register_gauges",
]

_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter("rewardgym_requests_total", "Scoring calls", ["reward", "kind"])
ITEMS = Counter("rewardgym_items_total", "Items scored", ["reward", "outcome"])
REQUEST_SECONDS = Histogram(
    "rewardgym_request_seconds", "Time of one scoring call", ["reward", "kind"], buckets=_SECONDS
)
REJECTED = Counter("rewardgym_rejected_total", "Requests refused before scoring", ["reason"])
BACKEND_SECONDS = Histogram(
    "rewardgym_backend_seconds", "Time of one judge-backend call", ["backend"], buckets=_SECONDS
)
BACKEND_ERRORS = Counter(
    "rewardgym_backend_errors_total", "Failed judge-backend calls", ["backend", "kind"]
)
CACHE = Counter("rewardgym_cache_total", "Judgment-cache lookups", ["cache", "outcome"])
LEDGER_WRITES = Counter(
    "rewardgym_ledger_writes_total", "Results recorded in the reward ledger", ["outcome"]
)

GaugeSource = Callable[[], Iterator[tuple[str, dict[str, str], float]]]
"""Yields (metric name, labels, value) for gauges read at scrape time."""


_HELP = {
    "rewardgym_pending_items": "Items admitted and not finished",
    "rewardgym_in_flight_requests": "Scoring calls running",
    "rewardgym_pool_busy": "Worker processes running a call",
    "rewardgym_pool_waiting": "Calls waiting for a worker",
    "rewardgym_reward_drift_psi": "Population stability index of a reward's recent scores "
    "against its first ones (> 0.25: shifted)",
    "rewardgym_reward_drift_ks": "Kolmogorov-Smirnov statistic of recent vs first scores",
    "rewardgym_reward_share_at_max": "Share of recent scores at their maximum (saturation)",
    "rewardgym_reward_share_at_min": "Share of recent scores at their minimum",
    "rewardgym_reward_length_correlation": "Spearman correlation of score with response "
    "length (length bias)",
    "rewardgym_reward_failed_share": "Share of recent items that failed",
    "rewardgym_judge_canary_pass_rate": "Share of the known-bad replies an LLM judge was "
    "given beside real traffic that it passed (its live false-pass rate)",
    "rewardgym_judge_rejudge_agreement": "Share of an LLM judge's audit re-judges, its inputs "
    "permuted (rubric levels, candidate order), whose verdict agreed with the first",
    "rewardgym_judge_shadow_disagreement": "Share of an LLM judge's audited verdicts on items "
    "with a reference that the rule it shadows (e.g. math) judged the other way",
    "rewardgym_judge_flip_rate": "Share of a preference judge's recent comparisons whose "
    "verdict changed with the order of the responses (position bias)",
}


GAUGE_NAMES = frozenset(_HELP)
"""The gauges read at scrape time (``register_gauges``' sources yield these names)."""


class _Gauges(Collector):
    """Gauges read from live objects at scrape time (queue depth, pool occupancy)."""

    def __init__(self) -> None:
        self.sources: list[GaugeSource] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Sources with the same labels (inline rewards of one type) add up to one series.
        totals: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for source in list(self.sources):
            for name, labels, value in source():
                series = totals.setdefault(name, {})
                key = tuple(sorted(labels.items()))
                series[key] = series.get(key, 0.0) + value
        for name, series in totals.items():
            names = [k for k, _ in next(iter(series))]
            family = GaugeMetricFamily(name, _HELP.get(name, name), labels=names)
            for key, value in series.items():
                family.add_metric([v for _, v in key], value)
            yield family


_GAUGES = _Gauges()
REGISTRY.register(_GAUGES)


def register_gauges(source: GaugeSource) -> Callable[[], None]:
    """Read ``source`` at every scrape; returns a function that stops it."""
    _GAUGES.sources.append(source)

    def remove() -> None:
        if source in _GAUGES.sources:
            _GAUGES.sources.remove(source)

    return remove
