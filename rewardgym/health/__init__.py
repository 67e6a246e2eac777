"""Reward health: statistics that tell whether a reward still measures what it should
(drift, saturation, length bias, failures)."""

from rewardgym.health.stats import HealthSummary, RewardWindow, ks_statistic, psi, spearman

__all__ = ["HealthSummary", "RewardWindow", "ks_statistic", "psi", "spearman"]
