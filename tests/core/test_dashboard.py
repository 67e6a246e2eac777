"""deploy/grafana's dashboard graphs only metrics rewardgym exports, and every health gauge."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rewardgym.metrics import GAUGE_NAMES

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "rewardgym-health.json"


def test_the_dashboard_graphs_only_metrics_the_server_exports():
    """Every panel of deploy/grafana's dashboard queries a metric rewardgym exports (a
    renamed gauge would leave a panel empty), and every health gauge has a panel."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"rewardgym_[a-z_]+", target["expr"])
    }
    exported = set(GAUGE_NAMES) | {"rewardgym_items_total"}
    assert queried <= exported, queried - exported
    health = {n for n in GAUGE_NAMES if n.startswith(("rewardgym_reward_", "rewardgym_judge_"))}
    assert health <= queried, health - queried
