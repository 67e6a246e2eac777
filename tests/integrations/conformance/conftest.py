"""The trainers' own code against a real rewardgym server. Their packages live in ``.peers``
(``scripts/test`` installs verl and OpenRLHF there without their dependency trees); it goes
after ``.venv``'s packages on the path, so it never replaces one of them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parents[3] / ".peers"


@pytest.fixture(scope="session")
def peers() -> Path:
    if not (PEERS / ".versions").exists():
        pytest.skip(".peers is absent: scripts/test installs verl and OpenRLHF there")
    if str(PEERS) not in sys.path:
        sys.path.append(str(PEERS))
    return PEERS
