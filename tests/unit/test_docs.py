"""The docs describe what the code does: a stale command reference or an undocumented exit code fails."""

from __future__ import annotations

import re
from pathlib import Path

from cb_helper.errors import ExitStatus
from tools.cli_docs import CORE, TARGET, render

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_command_reference_is_current() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "run: python -m tools.cli_docs"


def test_every_command_has_help_and_a_readme_mention() -> None:
    from cb_helper.cli import cli

    for name in CORE:
        assert cli.commands[name].help, name
        assert f"cb-helper {name}" in README, name


def test_every_exit_status_is_in_the_readme_table() -> None:
    rows = dict(re.findall(r"^\| (\d) \| (.+) \|$", README, flags=re.MULTILINE))
    assert sorted(int(code) for code in rows) == sorted(int(s) for s in ExitStatus)


def test_the_readme_setup_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    block = README.split("## Set up", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_changelog_names_the_current_version_or_unreleased() -> None:
    from cb_helper import __version__

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog or f"## [{__version__}]" in changelog
