"""docs/deploy.md's settings tables name every setting the server and the clients read, by its
full variable name, and no variable that nothing reads (a misspelt one is silently ignored)."""

from __future__ import annotations

import re

from rewardgym.config import ClientSettings, Settings
from tests.conftest import ROOT

# variables read outside the settings models: the test suite's own, and the docs' examples'
ELSEWHERE = {"REWARDGYM_SKIP_VLLM", "REWARDGYM_TEST_VLLM_PYTHON"}


def _variables(cls: type[Settings] | type[ClientSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def test_the_settings_tables_name_every_setting_and_nothing_else() -> None:
    page = (ROOT / "docs" / "deploy.md").read_text()
    rows = set(re.findall(r"^\| `(REWARDGYM_[A-Z0-9_]+)` \|", page, flags=re.MULTILINE))
    known = _variables(Settings) | _variables(ClientSettings)
    assert rows == known, f"missing: {sorted(known - rows)}; unknown: {sorted(rows - known)}"


def test_every_variable_the_docs_name_is_read() -> None:
    known = _variables(Settings) | _variables(ClientSettings) | ELSEWHERE
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named = set(re.findall(r"REWARDGYM_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
        assert named <= known, f"{path.name} names {sorted(named - known)}"
