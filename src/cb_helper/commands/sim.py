"""``cb-helper sim serve``: run the simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Optional

import click

from cb_helper.api.errors import BadInput
from cb_helper.api.vocabulary import ProjectSlug
from cb_helper.sim.server import Exchange, SimServer
from cb_helper.sim.state import SimState

if TYPE_CHECKING:
    from cb_helper.rehearse.timeline import Event


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
    metavar="SLUG[=CONFIG]",
    help="Serve this project (e.g. gh/acme/api); with =CONFIG (a config file or project directory) its triggered "
    "pipelines run that config, without it a default build, hold and deploy. Repeatable.",
)
@click.option(
    "--orb",
    "orbs",
    multiple=True,
    metavar="NAME=FILE",
    help="A packed orb for the configs, as for rehearse; plain 'circleback' is the installed one. Repeatable.",
)
@click.option(
    "--context",
    "contexts",
    multiple=True,
    metavar="NAME[=FILE]",
    help="A context the configs may use, with its variables from an env file. Repeatable.",
)
@click.option(
    "--logs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each finished job's step output to DIR/<project>/<job number>-<job>.log (default: a directory "
    "that is printed at start and removed at exit).",
)
@click.option("--quiet", is_flag=True, help="Do not print each request and job on stderr.")
def serve(
    port: int,
    host: str,
    page_size: int,
    projects: tuple[str, ...],
    orbs: tuple[str, ...],
    contexts: tuple[str, ...],
    logs_dir: Optional[Path],
    quiet: bool,
) -> None:
    """Serve the simulator until Ctrl-C or SIGTERM; print its URL and a token to use.

    Every triggered pipeline runs: a project's own config with the local runner, or the default
    pipeline (build, an approval job named hold, deploy), so cb-helper can be driven from another
    terminal against it. Each finished job's step output is written to a log file, whose path is
    printed with the job's last line.

    \b
    Example:
      cb-helper sim serve --port 8080 --project gh/acme/project-a=a --project gh/acme/project-b
    """
    configs = _projects(projects)
    from cb_helper.commands.rehearse import contexts_of, orbs_of

    orb_files, context_values = orbs_of(orbs), contexts_of(contexts)
    state = SimState(page_size=page_size)
    server = SimServer(state, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    if not quiet:
        server.observers.append(_print_exchange)
    from cb_helper.rehearse.playground import Playground
    from cb_helper.rehearse.report import event_line, where_column

    column = where_column(configs)
    holder: list[Playground] = []

    def show(event: Event) -> None:
        if not quiet and event.kind != "step_finished":
            click.echo(event_line(event, column=column), err=True)
        if event.kind == "job_finished" and holder:
            written = _write_log(holder[0], logs, event)
            if written is not None and not quiet:
                click.echo(f"{' ' * (column + 10)}log: {written}", err=True)

    try:
        playground = Playground(server, configs, orbs=orb_files, contexts=context_values, on_event=show)
    except BaseException:
        server.stop()
        raise
    holder.append(playground)
    logs = logs_dir if logs_dir is not None else playground.rehearsal.workdir / "logs"
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    # Both signals set the event (an inherited "ignore" disposition for SIGINT included), so the server
    # always stops through the same path, whenever the signal arrives.
    stoppers = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, _stopper(stop)) for signum in stoppers} if in_main else {}
    click.echo(f"CircleCI API v2 simulator listening on {server.url}")
    click.echo(f"CIRCLECI_HOST={server.url}")
    click.echo(f"CIRCLE_TOKEN={server.token}")
    click.echo(f"job logs: {logs}" + ("" if logs_dir is not None else " (removed when the simulator stops)"))
    click.echo("Press Ctrl-C to stop.", err=True)
    try:
        playground.serve(stop)
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        playground.close()
        server.stop()
    click.echo("simulator stopped", err=True)


def _projects(values: tuple[str, ...]) -> dict[str, Optional[Path]]:
    """``SLUG`` or ``SLUG=CONFIG`` (a config file, or a project directory holding .circleci/config.yml)."""
    configs: dict[str, Optional[Path]] = {}
    for value in values:
        slug, sep, _ = value.partition("=")
        try:
            ProjectSlug.parse(slug)
        except BadInput as exc:
            raise click.BadParameter(exc.message, param_hint="--project") from None
        if sep:
            from cb_helper.commands.rehearse import project_config

            configs[slug] = project_config(value)[1]
        else:
            configs[slug] = None
    return configs


def _write_log(playground: Any, root: Path, event: Event) -> Optional[Path]:
    """Write the finished job's step output (whole lines) to its log file; its path, or None if not found."""
    from cb_helper.rehearse.report import job_log

    for pipeline in playground.rehearsal.pipelines.values():
        if pipeline.project != event.project or pipeline.number != event.pipeline_number:
            continue
        for workflow in reversed(pipeline.workflows):
            job = workflow.jobs.get(event.job or "") if workflow.name == event.workflow else None
            if job is None:
                continue
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", job.plan.name)
            target = root / Path(*pipeline.project.split("/")) / f"{job.number}-{name}.log"
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = job_log(_as_result(job))
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return target
    return None


def _as_result(job: Any) -> Any:
    from cb_helper.rehearse.timeline import JobResult

    return JobResult(job.plan.name, job.id, "build", job.status, job.number, job.started, job.stopped, job.steps)


def _stopper(stop: threading.Event) -> Callable[[int, Optional[FrameType]], None]:
    def handle(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    return handle


def _print_exchange(exchange: Exchange) -> None:
    fault = f" [{exchange.fault}]" if exchange.fault else ""
    click.echo(f"{exchange.method} {exchange.path} -> {exchange.status}{fault}", err=True)
