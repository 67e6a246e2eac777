"""The package's layering holds: ``scripts/import_graph.py --check`` finds no import that points
up a layer or across to a sibling front, and no cycle between packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_imports_respect_the_layers():
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_graph.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (
        f"import_graph.py --check exited {run.returncode}:\n{run.stdout}{run.stderr}"
    )
