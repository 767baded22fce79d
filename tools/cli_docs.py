"""Generate docs/commands.md from the CLI's own help (``python -m tools.cli_docs [--check]``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cb_helper.cli import cli
from tools.generated import write_or_check

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "commands.md"
#: The commands users run against CircleCI; ``sim`` and ``rehearse`` have their own pages.
CORE = ["trigger", "approve", "status", "workflows", "jobs", "cancel"]


def render() -> str:
    parts = [
        "# cb-helper command reference",
        "",
        "Generated from the commands' own help by `python -m tools.cli_docs`; a test fails when it is stale.",
        "",
        "```text",
        _help(cli, "cb-helper"),
        "```",
    ]
    for name in CORE:
        command = cli.commands[name]
        parts += ["", f"## cb-helper {name}", "", "```text", _help(command, f"cb-helper {name}"), "```"]
    return "\n".join(parts) + "\n"


def _help(command: click.Command, path: str) -> str:
    context = click.Context(
        command, info_name=path, terminal_width=110, max_content_width=110, help_option_names=["-h", "--help"]
    )
    return command.get_help(context).rstrip()


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, render(), "tools.cli_docs", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
