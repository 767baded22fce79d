"""The ``cb-helper`` command line: a thin click layer over :mod:`cb_helper.circleback`.

Heavy modules (requests, jq, yaml, the simulator, the runner) are imported inside the commands, so
``cb-helper --version`` starts fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, Optional

import click

from cb_helper import __version__
from cb_helper.errors import CbError, ExitStatus

#: Subcommands that live beside the helper (simulator, runner): ``name -> "module:attribute"``.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {}


class LazyGroup(click.Group):
    """A group whose extra subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in LAZY_COMMANDS:
            module_name, attribute = LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="cb-helper", message="%(prog)s %(version)s")
@click.option(
    "--debug", is_flag=True, help="Show API calls and tracebacks on stderr (the token is never shown)."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Cross-project pipeline orchestration for CircleCI: trigger, circle back, check status."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and return its exit status (testable without exiting)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="cb-helper", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cb-helper: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return ExitStatus.USAGE if exc.exit_code == 2 else int(exc.exit_code)
    except CbError as exc:
        click.echo(f"cb-helper: error: {exc}", err=True)
        return int(exc.exit_status)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
