"""The rough edges a new user met (issue 23), each fixed and held here: a busy gRPC port, a bad
config, install hints that rich markup ate, and what ``score`` writes for a failed item."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from rewardgym.judges.runtime.ports import free_loopback_port
from tests.cli.test_cli import run
from tests.conftest import Server


def test_a_second_server_on_a_busy_grpc_port_exits_with_a_clear_error(server: Server):
    busy = server.grpc_target.rsplit(":", 1)[1]
    port = str(free_loopback_port())
    started = subprocess.run(
        [sys.executable, "-m", "rewardgym", "serve", "--port", port, "--grpc-port", busy],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )
    assert started.returncode == 1, started.stdout + started.stderr
    assert f"cannot bind gRPC to 127.0.0.1:{busy}" in started.stdout
    assert "--grpc-port" in started.stdout  # what to do about it
    assert "rewardgym HTTP" not in started.stdout  # no banner for a server that never served


def test_a_bad_config_prints_its_error_and_no_serving_banner(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("rewards:\n  - name: x\n    type: no_such_reward\n")
    started = run("serve", "--config", str(config), "--port", str(free_loopback_port()))
    assert started.returncode == 2, started.stdout + started.stderr
    assert "no_such_reward" in started.stdout
    assert "rewardgym HTTP" not in started.stdout


def test_install_hints_keep_their_extras_in_help_text():
    for command, extra in (
        (["envs", "serve"], "rewardgym[openenv]"),
        (["serve-ray"], "rewardgym[ray]"),
        (["train"], "rewardgym[train]"),
    ):
        shown = run(*command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert f"pip install '{extra}'" in shown.stdout, (command, shown.stdout)


def test_serve_help_shows_its_default_ports_and_how_to_turn_grpc_off():
    shown = run("serve", "--help").stdout
    assert "default 8000" in shown and "default 50051" in shown
    assert "-1 serves HTTP only" in shown and "'none' for off" in shown
    assert "Example: rewardgym serve" in shown


def test_score_writes_a_score_key_on_every_row_null_on_a_failed_item(tmp_path: Path):
    items = tmp_path / "items.jsonl"
    items.write_text(
        '{"response": "\\\\boxed{2}", "reference": "2"}\n{"response": "no reference"}\n'
    )
    out = tmp_path / "out.jsonl"
    scored = run("score", "-r", "math", "-i", str(items), "-o", str(out))
    assert scored.returncode == 0, scored.stdout + scored.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["score"] for row in rows] == [1.0, None]
    assert rows[1]["error"]["type"] == "invalid_input"


def test_self_rewarding_says_when_an_iteration_made_no_pairs_and_why():
    from rewardgym.cli.train import self_rewarding_summary

    reports = [
        {"iteration": 1, "pairs": 0, "unscored": 8, "samples": 8},
        {"iteration": 2, "pairs": 0, "unscored": 0, "samples": 8},
        {"iteration": 3, "pairs": 3, "unscored": 1, "samples": 8},
    ]
    table, warnings = self_rewarding_summary(reports, Path("out"))
    assert [c.header for c in table.columns][2] == "unscored"
    assert list(table.columns[2].cells) == ["8/8", "0/8", "1/8"]
    assert len(warnings) == 2
    assert "8/8 judgments unscored: is the judge reachable" in warnings[0]
    assert "scored alike" in warnings[1]


def _leaf_commands() -> list[list[str]]:
    """Every command's path (``["train", "grpo"]``), from the Typer apps' own registries."""
    import typer

    from rewardgym.cli import app

    def walk(group: typer.Typer, path: list[str]) -> list[list[str]]:
        found = []
        for command in group.registered_commands:
            name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
            found.append([*path, name])
        for sub in group.registered_groups:
            assert sub.typer_instance is not None and sub.name is not None
            found.extend(walk(sub.typer_instance, [*path, sub.name]))
        return found

    return walk(app, [])


def test_every_command_shows_an_example_whose_options_it_has():
    import re
    import shlex

    commands = _leaf_commands()
    assert len(commands) >= 14, commands
    for path in commands:
        shown = run(*path, "--help").stdout
        assert "Usage" in shown, (path, shown)
        [example] = [line for line in shown.splitlines() if "Example: rewardgym" in line]
        words = shlex.split(example.strip(" │").split("Example: ", 1)[1])
        assert words[1 : 1 + len(path)] == path, (path, words)
        rest = shown.replace(example, "")
        known = set(re.findall(r"--[a-z][a-z0-9-]*", rest))
        used = {w.split("=")[0] for w in words if w.startswith("--")}
        assert used <= known, (path, sorted(used - known))


def test_without_the_reasoning_extra_its_users_say_which_extra_to_install(monkeypatch):
    """Simulates a core-only install (reasoning-gym is in the reasoning extra now)."""
    import asyncio
    import importlib.util

    import pytest

    from rewardgym.envs.tasks import ReasoningGymSource
    from rewardgym.errors import ConfigError
    from rewardgym.registry import RewardRegistry
    from rewardgym.schema import RewardSpec

    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # import fails, as when absent
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "reasoning_gym" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match=r"pip install 'rewardgym\[reasoning\]'"):
        ReasoningGymSource("basic_arithmetic")
    reward = RewardRegistry([]).resolve(RewardSpec(type="reasoning_gym"))
    with pytest.raises(ConfigError, match=r"pip install 'rewardgym\[reasoning\]'"):
        asyncio.run(reward.start())


def test_the_progress_bar_shows_rate_and_time_left():
    import io

    from rich.console import Console

    from rewardgym.progress import progress_bar

    out = io.StringIO()
    console = Console(file=out, width=120)
    bar = progress_bar(console)
    task = bar.add_task("scoring", total=100)
    for _ in range(50):
        bar.advance(task, 1)
        time.sleep(0.002)
    console.print(bar.make_tasks_table(bar.tasks))
    shown = out.getvalue()
    assert "scoring" in shown and "50/100" in shown, shown
    assert re.search(r"[\d,.]+/s", shown) and "eta" in shown, shown
