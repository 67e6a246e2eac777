"""Reward health: statistics that tell whether a reward still measures what it should
(drift, saturation, length bias, failures)."""

from rewardgym.health.monitor import HealthMonitor, response_length
from rewardgym.health.stats import HealthSummary, RewardWindow, ks_statistic, psi, spearman

__all__ = [
    "HealthMonitor",
    "HealthSummary",
    "RewardWindow",
    "ks_statistic",
    "psi",
    "response_length",
    "spearman",
]
