"""The command synopsis on docs/cli.md is the CLI's own: every command and every option it
shows exists, and every command the CLI has is shown."""

from __future__ import annotations

import re
from typing import Any

import typer

from rewardgym.cli import app
from tests.conftest import ROOT
from tests.docs.markdown_blocks import blocks_of


def _commands(command: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if hasattr(command, "commands"):  # a group (typer's own click)
        found: dict[tuple[str, ...], Any] = {}
        for name, sub in command.commands.items():
            found.update(_commands(sub, (*path, name)))
        return found
    return {path: command}


def _synopsis() -> list[str]:
    page = ROOT / "docs" / "cli.md"
    text = next(b for b in blocks_of(page) if b.language == "text")
    return [line.strip() for line in text.source.splitlines() if line.strip()]


def test_every_command_is_on_the_cli_page_with_options_it_has() -> None:
    commands = _commands(typer.main.get_command(app))
    shown: set[tuple[str, ...]] = set()
    for line in _synopsis():
        for part in re.split(r" \| (?=[a-z])", line):
            words = part.removeprefix("rewardgym ").split()
            path = next(
                (p for p in sorted(commands, key=len, reverse=True) if tuple(words[: len(p)]) == p),
                None,
            )
            assert path is not None, f"{part!r} names no command of the CLI"
            shown.add(path)
            options = {o for param in commands[path].params for o in param.opts}
            for option in re.findall(r"--[a-z][a-z-]*", part):
                assert option in options, f"{part!r}: {option} is not an option of {path}"
    assert shown == set(commands), f"not on the page: {sorted(set(commands) - shown)}"
