"""``cb-helper sim serve``: run the simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Callable, Optional

import click

from cb_helper.errors import BadInput
from cb_helper.sim.server import Exchange, SimServer
from cb_helper.sim.state import SimState
from cb_helper.vocabulary import ProjectSlug


@click.group(name="sim")
def sim() -> None:
    """Rehearse against the embedded CircleCI API v2 simulator (no circleci.com, no credits)."""


@sim.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--page-size", type=click.IntRange(min=1), default=20, show_default=True, help="Items per page.")
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="SLUG",
    help="Create this project (e.g. gh/acme/api); repeatable.",
)
@click.option("--quiet", is_flag=True, help="Do not print each request on stderr.")
def serve(port: int, host: str, page_size: int, projects: tuple[str, ...], quiet: bool) -> None:
    """Serve the simulator until Ctrl-C or SIGTERM; print its URL and a token to use.

    \b
    Example:
      cb-helper sim serve --port 8080 --project gh/acme/project-a --project gh/acme/project-b
    """
    state = SimState(page_size=page_size)
    for slug in projects:
        try:
            ProjectSlug.parse(slug)
        except BadInput as exc:
            raise click.BadParameter(exc.message, param_hint="--project") from None
        state.add_project(slug)
    server = SimServer(state, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    if not quiet:
        server.observers.append(_print_exchange)
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    # Both signals set the event (an inherited "ignore" disposition for SIGINT included), so the server
    # always stops through the same path, whenever the signal arrives.
    stoppers = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, _stopper(stop)) for signum in stoppers} if in_main else {}
    click.echo(f"CircleCI API v2 simulator listening on {server.url}")
    click.echo(f"CIRCLECI_HOST={server.url}")
    click.echo(f"CIRCLE_TOKEN={server.token}")
    click.echo("Press Ctrl-C to stop.", err=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    click.echo("simulator stopped", err=True)


def _stopper(stop: threading.Event) -> Callable[[int, Optional[FrameType]], None]:
    def handle(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    return handle


def _print_exchange(exchange: Exchange) -> None:
    fault = f" [{exchange.fault}]" if exchange.fault else ""
    click.echo(f"{exchange.method} {exchange.path} -> {exchange.status}{fault}", err=True)
