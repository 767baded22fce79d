"""The docs describe what the code does: a stale command reference or an undocumented exit code fails."""

from __future__ import annotations

import re
from pathlib import Path

from cb_helper.api.errors import ExitStatus
from cb_helper.api.vocabulary import WORKFLOW_CANCELED, WORKFLOW_FAILED
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


#: What each exit status means, in the words the README's table and the CLI's help must use for it.
MEANINGS = {
    ExitStatus.OK: ("success", "success"),
    ExitStatus.DOWNSTREAM_FAILED: ("downstream finished unsuccessfully", "downstream failed"),
    ExitStatus.USAGE: ("bad input or usage, detected before any API call", "bad input"),
    ExitStatus.API: ("API or network error after retries", "API error or refusal"),
    ExitStatus.TIMEOUT: ("timed out waiting", "timed out"),
    ExitStatus.DOWNSTREAM_CANCELED: (
        "downstream canceled, not run, or never started",
        "downstream canceled or never started",
    ),
}


def exit_table() -> dict[int, str]:
    table = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): text for code, text in re.findall(r"^\| (\d) \| (.+) \|$", table, flags=re.MULTILINE)}


def test_every_exit_status_is_in_the_readme_table_with_its_meaning() -> None:
    rows = exit_table()
    assert sorted(rows) == sorted(int(s) for s in ExitStatus)
    for status, (readme, _) in MEANINGS.items():
        assert rows[status].startswith(readme), (status, rows[status])


def test_the_readme_names_the_workflow_statuses_each_verdict_covers() -> None:
    rows = exit_table()
    failed = re.search(r"\(([^)]*)\)", rows[ExitStatus.DOWNSTREAM_FAILED])
    assert failed is not None
    assert {word.strip(" `") for word in failed.group(1).split(",")} == set(WORKFLOW_FAILED)
    assert {"canceled", "not run"} == {s.replace("_", " ") for s in WORKFLOW_CANCELED}
    assert all(s.replace("_", " ") in rows[ExitStatus.DOWNSTREAM_CANCELED] for s in WORKFLOW_CANCELED)


def test_the_cli_help_gives_each_exit_status_the_same_meaning() -> None:
    from cb_helper.cli import cli

    help_text = " ".join((cli.help or "").split())
    listed = ", ".join(f"{int(status)} {words}" for status, (_, words) in MEANINGS.items())
    assert f"Exit statuses: {listed}." in help_text


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


def _minimum_python(requirement: str) -> tuple[int, int]:
    """The lowest Python the installed distribution of a pinned requirement supports."""
    import importlib.metadata

    name = re.split(r"[=<>!\[ ]", requirement, maxsplit=1)[0]
    spec = str(importlib.metadata.metadata(name)["Requires-Python"] or "")
    found = re.search(r">=\s*(\d+)\.(\d+)", spec)
    return (int(found.group(1)), int(found.group(2))) if found else (3, 0)


def test_the_readme_states_the_python_each_path_needs() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = re.search(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert runtime is not None
    development = max(_minimum_python(r) for r in project["optional-dependencies"]["dev"])
    rows = dict(re.findall(r"^\| (the helper|the orb|development) .*?\| (.+) \|$", README, flags=re.MULTILINE))
    assert rows["the helper"].startswith(f"Python {runtime.group(1)} or newer"), rows
    assert f"`python3` {runtime.group(1)} or newer" in rows["the orb"], rows
    assert f"Python {development[0]}.{development[1]} or newer" in rows["development"], rows
