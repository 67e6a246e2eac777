"""``rewardgym rescore`` and ``rewardgym replay`` on a real ledger (a SQLite file written by
the service): a verifier change reported item by item, a forged record caught by replay."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import yaml

from rewardgym.config import Settings
from rewardgym.schema import Item, ScoreRequest
from rewardgym.service import RewardService
from tests.cli.test_cli import run
from tests.conftest import shared_path

STRICT = {"type": "math", "params": {"strict": False}}


def _cases() -> list[Item]:
    """Math-Verify's own cases: a prediction, its gold answer, the test it comes from."""
    lines = shared_path("data/math_verify_cases.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    return [
        Item(response=r["pred"], reference=r["gold"], metadata={"data_source": r["_test"]})
        for r in rows
    ]


def _record(folder: Path, items: list[Item]) -> Path:
    """Score ``items`` with math, every result recorded in ``folder``'s ledger."""

    async def go() -> None:
        settings = Settings(cache_dir=folder, ledger_record="all")
        async with RewardService.running(settings) as service:
            await service.score(ScoreRequest(reward="math", items=items))

    asyncio.run(go())
    return folder / "ledger.sqlite"


def test_rescore_reports_what_a_verifier_change_flips(tmp_path: Path):
    items = _cases()
    ledger = _record(tmp_path, items)
    report, plot = tmp_path / "report.json", tmp_path / "rescore.png"
    done = run(
        "rescore",
        "--from",
        str(ledger),
        "--old-reward",
        "math",
        "--reward",
        json.dumps(STRICT),
        "--report",
        str(report),
        "--plot",
        str(plot),
    )
    assert done.returncode == 0, done.stderr
    assert "agree" in done.stdout and "all" in done.stdout
    data = json.loads(report.read_text())
    overall = data["overall"]
    distinct = len({(i.response, i.reference) for i in items})  # one address per content
    assert overall["items"] == distinct
    # strict=False lets a variable match a number it was assigned ("x = 1" vs "1"): some
    # items pass that failed, none the other way.
    assert overall["fail_to_pass"] >= 1 and overall["pass_to_fail"] == 0
    flipped = {c["source"] for c in data["changes"] if c["old_score"] == 0.0}
    assert "test_strict_variable_comparison" in flipped
    assert data["by_source"]["test_strict_variable_comparison"]["fail_to_pass"] >= 1
    assert overall["agreement"] == 1 - overall["fail_to_pass"] / overall["compared"]
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_rescore_reads_old_scores_from_jsonl(tmp_path: Path):
    rows = [
        {"response": "Paris", "reference": "paris", "score": 1.0},
        {"response": "The answer is Paris", "reference": "paris", "score": 0.0},
        {"response": "Lyon", "reference": "paris", "score": 0.0},
    ]
    source = tmp_path / "scored.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = tmp_path / "report.json"
    done = run("rescore", "--from", str(source), "--reward", "contains", "--report", str(report))
    assert done.returncode == 0, done.stderr
    overall = json.loads(report.read_text())["overall"]
    assert (overall["items"], overall["fail_to_pass"], overall["pass_to_fail"]) == (3, 1, 0)


def test_replay_passes_a_deterministic_ledger_and_flags_a_forged_record(tmp_path: Path):
    ledger = _record(tmp_path, _cases()[:40])
    clean = run("replay", "--from", str(ledger), "--sample", "40", "--report", str(tmp_path / "a"))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    first = json.loads((tmp_path / "a").read_text())
    assert first["same"] == first["replayed"] > 0 and first["changed"] == []
    # A result that changed while its address did not, as a nondeterministic reward leaves.
    with sqlite3.connect(ledger) as db:
        key, value = db.execute("SELECT key, value FROM results LIMIT 1").fetchone()
        entry = json.loads(value)
        entry["result"]["score"] = 1.0 - entry["result"]["score"]
        db.execute("UPDATE results SET value = ? WHERE key = ?", (json.dumps(entry), key))
    forged = run("replay", "--from", str(ledger), "--sample", "40", "--report", str(tmp_path / "b"))
    assert forged.returncode == 1
    second = json.loads((tmp_path / "b").read_text())
    assert [c["address"] for c in second["changed"]] == [key]
    assert second["same"] == first["same"] - 1


def test_replay_sets_apart_results_whose_reward_changed(tmp_path: Path):
    ledger = _record(tmp_path, _cases()[:10])
    config = tmp_path / "changed.yaml"
    config.write_text(yaml.safe_dump({"rewards": [{"name": "math", **STRICT}]}))
    report = tmp_path / "report.json"
    done = run("replay", "--from", str(ledger), "--config", str(config), "--report", str(report))
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert data["moved"] == data["replayed"] == 10 and data["same"] == 0
