"""deploy/prometheus's alert rules: valid, unit-tested with promtool, and tripped by a real
reward's drift (the gauge a real service exports, fed to the rule as promtool's input)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rewardgym.config import Settings
from rewardgym.health import HealthMonitor
from rewardgym.schema import Item, ScoreRequest
from rewardgym.service import RewardService
from tests.conftest import TEST_CONFIG

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
DRIFT_DESCRIPTION = (
    "The population stability index of the reward's recent scores against its first ones is "
    "above 0.25: the policy may have found a way to game it, or the data changed. See GET "
    "/v1/health/rewards (per data source) or rewardgym health."
)

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get prometheus)"
)


def _promtool(*args: str, cwd: Path = RULES) -> str:
    run = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_rules_are_valid_and_pass_their_unit_tests():
    assert "SUCCESS: 8 rules found" in _promtool("check", "rules", "rewardgym-alerts.yml")
    assert "SUCCESS" in _promtool("test", "rules", "rewardgym-alerts.test.yml")


async def test_a_real_rewards_drift_trips_the_rule(tmp_path: Path):
    async with RewardService.running(Settings(config=TEST_CONFIG)) as service:
        service.health = HealthMonitor(size=200)
        wrong = [Item(response="Lyon", reference="paris")] * 200
        right = [Item(response="Paris", reference="paris")] * 200
        for items in (wrong, right):  # the policy learns to answer: the scores shift
            await service.score(ScoreRequest(reward="exact_match", items=items))
        gauges = {(name, labels["reward"]): v for name, labels, v in service.health.gauges()}
    psi = gauges["rewardgym_reward_drift_psi", "exact_match"]
    assert psi > 0.25
    (tmp_path / "rewardgym-alerts.yml").write_text((RULES / "rewardgym-alerts.yml").read_text())
    (tmp_path / "live.test.yml").write_text(
        f"""rule_files: [rewardgym-alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'rewardgym_reward_drift_psi{{reward="exact_match"}}'
        values: '{psi}x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: RewardgymRewardDrift
        exp_alerts: []
      - eval_time: 20m
        alertname: RewardgymRewardDrift
        exp_alerts:
          - exp_labels: {{severity: warning, reward: exact_match}}
            exp_annotations:
              summary: "reward exact_match: its scores have shifted (PSI {psi:.2f})"
              description: "{DRIFT_DESCRIPTION}"
"""
    )
    assert "SUCCESS" in _promtool("test", "rules", "live.test.yml", cwd=tmp_path)
