"""The ``code`` reward in the real bubblewrap sandbox: HumanEval, the three kinds of test, and
hostile programs scored through a real server that must stay healthy and untouched."""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.errors import ConfigError
from rewardgym.judges.base import ScoreContext
from rewardgym.judges.rules.code_harness import humaneval_item
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec
from tests.conftest import Server, shared_path, start_server, stop_server

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (apt-get install bubblewrap; scripts/test does)",
)


def _reward(params: dict[str, Any] | None = None) -> Any:
    spec = RewardSpec.model_validate({"type": "code", "params": params or {}})
    return RewardRegistry([]).resolve(spec)


def _score(reward: Any, items: list[Item]) -> list[Any]:
    async def run() -> list[Any]:
        await reward.start()
        try:
            return await reward.score(items, ScoreContext())
        finally:
            await reward.aclose()

    return asyncio.run(run())


@pytest.mark.slow
def test_all_humaneval_canonical_solutions_pass():
    path = shared_path("data/humaneval/HumanEval.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        problems = [json.loads(line) for line in fh]
    items = [humaneval_item(p) for p in problems]
    results = _score(_reward({"workers": 4}), items)
    failed = [p["task_id"] for p, r in zip(problems, results, strict=True) if r.score != 1.0]
    assert len(problems) == 164 and failed == []


@pytest.mark.slow
def test_humaneval_example_samples_give_pass_at_1_of_one_half():
    problem = json.loads(shared_path("data/humaneval/example_problem.jsonl").read_text())
    samples = [
        json.loads(line)
        for line in shared_path("data/humaneval/example_samples.jsonl").read_text().splitlines()
    ]
    items = [humaneval_item(problem, s["completion"]) for s in samples]
    results = _score(_reward({"timeout_s": 3}), items)
    assert [r.score for r in results] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert sum(r.score for r in results) / len(results) == 0.5
    assert results[1].metadata["timed_out"] is True  # time.sleep(10) under a 3 s limit
    assert "EOFError" in results[2].metadata["failures"]["check"]  # input() has no stdin


def test_assert_tests_score_the_share_passed_with_steps():
    item = Item(
        response="```python\ndef f(x):\n    return x + 1\n```",
        reference={"tests": ["assert f(1) == 2", "assert f(2) == 3", "assert f(3) == 5"]},
    )
    [result] = _score(_reward(), [item])
    assert result.score == pytest.approx(2 / 3)
    assert [s.label for s in result.steps] == ["pass", "pass", "fail"]
    [strict] = _score(_reward({"all_or_nothing": True}), [item])
    assert strict.score == 0.0 and strict.scores["pass_rate"] == pytest.approx(2 / 3)


def test_stdio_cases_compare_output():
    program = "a, b = map(int, input().split())\nprint(a + b)"
    cases = [
        {"input": "1 2\n", "output": "3\n"},
        {"input": "5 5\n", "output": "10"},
        {"input": "2 2\n", "output": "5\n"},
    ]
    [result] = _score(_reward(), [Item(response=program, reference={"cases": cases})])
    assert result.score == pytest.approx(2 / 3)
    assert result.metadata["failures"] == {"case 2": "wrong output"}


def test_bad_tests_are_an_item_error_not_a_crash():
    results = _score(
        _reward(),
        [
            Item(response="x = 1", reference={"nonsense": 1}),
            Item(response="x = 1", reference={"tests": ["assert x == 1"]}),
        ],
    )
    assert results[0].error is not None and results[0].error.type == "invalid_input"
    assert results[1].score == 1.0


def test_missing_bubblewrap_is_a_config_error_fault_injection(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as if bwrap were not installed
    with pytest.raises(ConfigError, match="bubblewrap"):
        asyncio.run(_reward().start())


def test_sandbox_none_warns_on_every_start(caplog: pytest.LogCaptureFixture):
    reward = _reward({"sandbox": "none"})
    with caplog.at_level("WARNING"):
        [result] = _score(reward, [Item(response="x = 2", reference=["assert x == 2"])])
    assert result.score == 1.0
    assert any("sandbox: none" in r.getMessage() for r in caplog.records)


# -- hostile programs through a real server --------------------------------------------------

SECRET = "sk-rewardgym-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("code-server")
    config = root / "code.yaml"
    config.write_text(
        "rewards:\n  - name: code\n    type: code\n"
        "    params: {workers: 4, timeout_s: 5, cpu_s: 3, memory_mb: 256, processes: 16,"
        " output_bytes: 65536}\n",
        encoding="utf-8",
    )
    server = start_server(env_extra={"REWARDGYM_TEST_SECRET": SECRET}, config=config)
    try:
        yield server, root
    finally:
        stop_server(server)


def _hostile_cases(server: Server, root: Path, port: int) -> dict[str, str]:
    canary = root / "canary.txt"
    pid = server.process.pid
    return {
        "fork bomb": (
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
        ),
        "memory bomb": "x = []\nwhile True:\n    x.append(bytearray(10**7))",
        "infinite loop": "while True:\n    pass",
        "busy child outlives parent": (
            "import os\nif os.fork() == 0:\n    while True:\n        pass"
        ),
        "network connect to host loopback": (
            f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "s.sendall(b'escaped')"
        ),
        "read server config, keys, host files": (
            "import os\nfound = []\n"
            f"for p in [{str(root / 'code.yaml')!r}, '/proc/{pid}/environ', '/etc/passwd',"
            " '/root/.bashrc', '/proc/1/environ']:\n"
            "    try:\n        found.append(open(p, 'rb').read().decode('latin-1'))\n"
            "    except OSError:\n        pass\n"
            "print(''.join(found) + repr(dict(os.environ)))"
        ),
        "write outside the sandbox": (f"open({str(root / 'evil.txt')!r}, 'w').write('x')\n"),
        "signal the server": f"import os, signal\nos.kill({pid}, signal.SIGKILL)",
        "100 MB of output": "import sys\nfor _ in range(1600):\n    sys.stdout.write('x' * 65536)",
        "delete files": (
            f"import os, shutil\nos.remove({str(canary)!r})\n"
            "shutil.rmtree('/usr', ignore_errors=True)\nos.remove('/sandbox/main.py')"
        ),
    }


def _leftover_processes(uids: set[int]) -> list[int]:
    """PIDs on this host owned by the sandbox users."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uid_line = next((ln for ln in status.splitlines() if ln.startswith("Uid:")), "")
            if uid_line and int(uid_line.split()[1]) in uids:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_hostile_programs_are_contained_and_the_server_stays_healthy(
    code_server: tuple[Server, Path],
):
    server, root = code_server
    canary = root / "canary.txt"
    canary.write_text("still here")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    table = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for case, program in _hostile_cases(server, root, port).items():
            item = {"response": program, "reference": {"tests": ["pass"]}}
            started = time.monotonic()
            response = client.post("/v1/score", json={"reward": "code", "items": [item]})
            elapsed = time.monotonic() - started
            assert response.status_code == 200, (case, response.text)
            [result] = response.json()["results"]
            assert result.get("error") is None, (case, result)
            assert elapsed < 8, (case, elapsed)  # limits: 5 s wall, 3 s CPU
            assert client.get("/healthz").status_code == 200, case
            assert server.process.poll() is None, case
            text = result["metadata"]["stdout"] + result["metadata"]["stderr"]
            assert SECRET not in text and "REWARDGYM" not in text, case
            assert "root:x:0:0" not in text, case
            outcome = result["metadata"]["failures"].get("pass") or (
                "ran, harmlessly" if result["score"] == 1.0 else "failed"
            )
            table.append((case, outcome, f"{elapsed:.2f} s"))
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing reached the host's loopback
    listener.close()
    assert canary.read_text() == "still here"
    assert not (root / "evil.txt").exists()
    assert Path("/usr/bin/python3").exists()
    deadline = time.monotonic() + 10  # a killed PID namespace takes a moment to empty
    while (left := _leftover_processes({65534 - slot for slot in range(64)})) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left == []
    print("\n| case | outcome | time |\n|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    by_case = {c: o for c, o, _ in table}
    assert "time limit" in by_case["infinite loop"] or "signal" in by_case["infinite loop"]
    assert "output limit" in by_case["100 MB of output"]
    assert "MemoryError" in by_case["memory bomb"] or "signal" in by_case["memory bomb"]
