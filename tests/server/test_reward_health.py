"""``GET /v1/health/rewards`` and the reward-health gauges on a real server: every scored
item lands in its reward's window and in its data source's."""

from __future__ import annotations

import secrets

import httpx

from rewardgym.health import HealthMonitor
from rewardgym.schema import Error, ErrorType, Item, Result
from tests.conftest import Server


def test_scored_items_show_in_their_reward_and_source_windows(http: httpx.Client, server: Server):
    source = f"health-{secrets.token_hex(4)}"
    items = [
        {
            "response": "Paris" if i % 4 else "Lyon",
            "reference": "paris",
            "metadata": {"data_source": source},
        }
        for i in range(40)
    ]
    items.append({"response": "x", "metadata": {"data_source": source}})  # no reference: fails
    assert http.post("/v1/score", json={"reward": "exact_match", "items": items}).status_code == 200
    body = http.get("/v1/health/rewards").json()
    [mine] = [w for w in body["rewards"] if w["source"] == source]
    assert mine["reward"] == "exact_match" and mine["items"] == 41 and mine["scored"] == 40
    assert mine["mean"] == 0.75 and mine["share_at_max"] == 0.75 and mine["share_at_min"] == 0.25
    assert mine["failures"] == {"invalid_input": 1 / 41}
    assert mine["drift_psi"] == 0.0  # its baseline is these very scores
    assert any(w["reward"] == "exact_match" and w["source"] == "*" for w in body["rewards"])
    scraped = http.get("/metrics").text
    assert 'rewardgym_reward_share_at_max{reward="exact_match"}' in scraped


def test_sources_past_the_cap_count_as_other():
    monitor = HealthMonitor(size=10, max_sources=2)
    failed = Result(error=Error(type=ErrorType.TIMEOUT, message="late"))
    for source in ("a", "b", "c", "d"):
        item = Item(response="xy", metadata={"data_source": source})
        monitor.observe("r", [item, item], [Result(score=1.0), failed])
    windows = {w["source"]: w for w in monitor.summaries()}
    assert set(windows) == {"*", "a", "b", "other"}
    assert windows["other"]["items"] == 4 and windows["*"]["items"] == 8
    assert windows["a"]["failures"] == {"timeout": 0.5}
    assert windows["a"]["length_correlation"] is None  # too few to say: null, not NaN


def test_a_large_call_is_sampled_evenly():
    monitor = HealthMonitor(per_call=100)
    items = [Item(response="x" * (i % 7)) for i in range(1000)]
    monitor.observe("r", items, [Result(score=float(i % 20 < 10)) for i in range(1000)])
    [whole] = monitor.summaries()
    assert whole["items"] == 100 and whole["mean"] == 0.5  # every 10th: 1, 0, 1, 0, ...
