"""Reward health: statistics that tell whether a reward still measures what it should
(drift, saturation, length bias, failures), and audits of LLM judges (canaries, permuted
re-judges, shadow checks by a rule) within a budget."""

from rewardgym.health.audits import Audits
from rewardgym.health.monitor import HealthMonitor, response_length
from rewardgym.health.stats import HealthSummary, RewardWindow, ks_statistic, psi, spearman

__all__ = [
    "Audits",
    "HealthMonitor",
    "HealthSummary",
    "RewardWindow",
    "ks_statistic",
    "psi",
    "response_length",
    "spearman",
]
