"""The ``cb-helper`` command line: a thin click layer over the library modules.

It parses and validates input (before any API call), calls one library function, renders the result and maps
errors to exit statuses in one place (:func:`main`). Heavy modules (requests, jq, the simulator, the runner) are
imported inside the commands, so ``cb-helper --version`` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Optional

import click

from cb_helper import __version__
from cb_helper.api.errors import CbError, ExitStatus
from cb_helper.commands.approve import approve
from cb_helper.commands.lists import cancel, jobs, workflows
from cb_helper.commands.options import CONTEXT_SETTINGS
from cb_helper.commands.outputs import outputs
from cb_helper.commands.status import status
from cb_helper.commands.sweep import sweep
from cb_helper.commands.trigger import trigger

#: Subcommands that live beside the helper (simulator, runner): ``name -> (module, attribute)``.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("cb_helper.commands.sim", "sim"),
    "rehearse": ("cb_helper.commands.rehearse", "rehearse"),
    "lint": ("cb_helper.commands.lint", "lint"),
}


class LazyGroup(click.Group):
    """A group whose extra subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in LAZY_COMMANDS:
            module_name, attribute = LAZY_COMMANDS[cmd_name]
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                return None
            command = getattr(module, attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="cb-helper", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Log API calls and show tracebacks on stderr (the token is never shown).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Cross-project pipeline orchestration for CircleCI: trigger, circle back, check status.

    Exit statuses: 0 success, 1 downstream failed, 2 bad input, 3 API error or refusal, 4 timed out,
    5 downstream canceled or never started.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _configure_logging(debug)


for _command in (trigger, approve, status, outputs, sweep, workflows, jobs, cancel):
    cli.add_command(_command)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _configure_logging(debug: bool) -> None:
    logger = logging.getLogger("cb_helper")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("cb-helper: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if debug else logging.INFO)


def _one_line(exc: click.ClickException) -> str:
    """A click error as one line; a usage error points to the command's help."""
    text = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and return its exit status (testable without exiting)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    try:
        returned = cli.main(args=args, prog_name="cb-helper", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cb-helper: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"cb-helper: error: {_one_line(exc)}", err=True)
        return int(ExitStatus.USAGE)
    except CbError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        click.echo(f"cb-helper: error: {exc}", err=True)
        return int(exc.exit_status)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"cb-helper: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        return int(ExitStatus.API)
    # Without standalone mode click returns a ctx.exit() code instead of raising it.
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
