"""Schemathesis against the live OpenAPI schema: its generated requests (examples, coverage,
fuzzing, stateful) never get a 5xx from a real server on loopback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.slow


def test_no_generated_case_gets_a_server_error(server: Server, tmp_path: Path):
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("schemathesis is not installed (it is in the dev extra)")
    run = subprocess.run(
        [
            binary,
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",  # one: Hypothesis reads lambda sources with ast.parse, which is not
            "1",  # thread-safe on Python 3.11 ("AST constructor recursion depth mismatch")
            "--report",
            "junit",
            "--report-junit-path",
            str(tmp_path / "junit.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,  # its .schemathesis/ cache stays out of the checkout
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-5000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", out)
    assert counts, out[-3000:]
    generated, passed = int(counts.group(1)), int(counts.group(2))
    print(f"\nschemathesis: {generated} cases generated, {passed} passed, no 5xx")
    assert generated == passed and generated >= 200
