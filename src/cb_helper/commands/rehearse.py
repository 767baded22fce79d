"""``cb-helper rehearse``: run CircleCI configs on this machine against the embedded simulator."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import click

from cb_helper.api.errors import BadInput
from cb_helper.api.vocabulary import ProjectSlug, merge_parameters

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def project_config(value: str) -> tuple[str, Path]:
    """``SLUG=PATH`` to the slug and its config file (PATH may be the project's directory)."""
    slug, sep, location = value.partition("=")
    if not sep or not location:
        raise BadInput(f"--project {value!r} is not SLUG=PATH (expected e.g. gh/acme/api=api/.circleci/config.yml)")
    ProjectSlug.parse(slug)
    path = Path(location)
    if path.is_dir():
        path = path / ".circleci" / "config.yml"
    if not path.is_file():
        raise BadInput(
            f"--project {value!r}: {str(path)!r} is not a file (expected a config file or a project directory)"
        )
    return slug, path


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` and quotes allowed, ``#`` comments); errors name the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read env file {str(path)!r} ({exc.strerror or exc})") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _ENV_NAME.match(name):
            raise BadInput(f"{path}:{number}: {raw.strip()[:40]!r} is not NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def contexts_of(values: Sequence[str]) -> dict[str, dict[str, str]]:
    contexts: dict[str, dict[str, str]] = {}
    for value in values:
        name, sep, location = value.partition("=")
        if not name:
            raise BadInput(f"--context {value!r} has no name (expected NAME or NAME=FILE.env)")
        contexts[name] = read_env_file(Path(location)) if sep else {}
    return contexts


#: The packed circleback orb of this version, put into the wheel when the package is built.
PACKAGED_ORB = Path(__file__).resolve().parents[1] / "orb" / "circleback.yml"


def orbs_of(values: Sequence[str]) -> dict[str, Path]:
    orbs: dict[str, Path] = {}
    for value in values:
        if value == "circleback":  # the orb shipped with this installation
            if not PACKAGED_ORB.is_file():
                raise BadInput(
                    "--orb circleback: this installation carries no packed orb (a source checkout: run "
                    "'python -m tools.orbkit pack' and give --orb circleback=dist/orb.yml)"
                )
            orbs[value] = PACKAGED_ORB
            continue
        name, sep, location = value.partition("=")
        if not sep or not name or not Path(location).is_file():
            raise BadInput(
                f"--orb {value!r} is not NAME=FILE with an existing packed orb (e.g. circleback=dist/orb.yml), "
                "nor circleback (the orb installed with cb-helper)"
            )
        orbs[name] = Path(location)
    return orbs


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--project",
    "projects",
    multiple=True,
    required=True,
    metavar="SLUG=PATH",
    help="A project and its config file (or directory holding .circleci/config.yml). Repeatable.",
)
@click.option(
    "--orb",
    "orbs",
    multiple=True,
    metavar="NAME=FILE",
    help="A packed orb, used where a config imports NAME (or its registry name); plain 'circleback' is the orb "
    "installed with cb-helper. Repeatable.",
)
@click.option(
    "--context",
    "contexts",
    multiple=True,
    metavar="NAME[=FILE]",
    help="A context and its variables from an env file (none without =FILE). Repeatable.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project environment variables for every job (NAME=VALUE lines).",
)
@click.option(
    "--start", "start_project", metavar="SLUG", help="The project whose pipeline starts (default: the first)."
)
@click.option("--branch", default="main", show_default=True, help="Branch of the started pipeline.")
@click.option("--tag", help="Start a tag pipeline instead of a branch one.")
@click.option(
    "--trigger-type",
    "--trigger-source",
    "trigger_source",
    type=click.Choice(["webhook", "api", "schedule", "scheduled_pipeline"]),
    default="webhook",
    show_default=True,
    help="How the started pipeline was triggered (pipeline.trigger.type): a push, the API, or a schedule "
    "(schedule; scheduled_pipeline is the same).",
)
@click.option(
    "--parameter",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline parameter (true/false and integers are typed). Repeatable.",
)
@click.option("--parameters-json", metavar="JSON", help="Pipeline parameters as a JSON object.")
@click.option(
    "--token-env",
    "token_envs",
    multiple=True,
    metavar="NAME",
    help="Variable(s) the jobs read the simulator's token from (default CIRCLE_TOKEN).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for every pipeline to finish.",
)
@click.option("--max-parallel", type=click.IntRange(min=1), default=4, show_default=True, help="Jobs running at once.")
@click.option("--steps", "show_steps", is_flag=True, help="Show every step in the timeline.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (the timeline goes to stderr).")
@click.option(
    "--keep-workdir",
    is_flag=True,
    help="Keep the jobs' directories, workspaces and artifacts; the path is printed (and is workdir in --json).",
)
@click.option(
    "--logs",
    "logs",
    is_flag=False,
    flag_value="*",
    multiple=True,
    metavar="[JOB]",
    help="After the summary, print the step output of every job that ran, or of the job named (JOB or "
    "WORKFLOW/JOB; repeatable), in whole lines (on stderr with --json).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rehearsal as one self-contained HTML page: every pipeline on one time axis, failed jobs, "
    "failing tests, outputs sent back and each job's step output.",
)
def rehearse(
    projects: tuple[str, ...],
    orbs: tuple[str, ...],
    contexts: tuple[str, ...],
    env_file: Optional[Path],
    start_project: Optional[str],
    branch: str,
    tag: Optional[str],
    trigger_source: str,
    pairs: tuple[str, ...],
    parameters_json: Optional[str],
    token_envs: tuple[str, ...],
    timeout: float,
    max_parallel: int,
    show_steps: bool,
    as_json: bool,
    keep_workdir: bool,
    logs: tuple[str, ...],
    report_file: Optional[Path],
) -> None:
    """Rehearse pipelines locally: run each project's config on this machine, with the embedded
    simulator as CircleCI. A trigger through the API starts the target project's config; approvals,
    cancels and reruns through the API act on the running workflows. Steps run in bash on this host
    (no Docker); cb-helper is on their PATH, with CIRCLECI_HOST and CIRCLE_TOKEN set to the simulator.

    Exits 0 when the started pipeline succeeded, 1 when it failed, 2 on bad input or a config that
    does not compile (nothing starts), 4 when the rehearsal got stuck on an approval or timed out,
    5 when the pipeline was canceled or ran no workflow.

    Example:

    \b
        cb-helper rehearse --orb circleback --context circleci-api \\
          --project gh/acme/project-a=a/.circleci/config.yml --project gh/acme/project-b=b
    """
    from cb_helper.commands.options import prepare_output_file
    from cb_helper.rehearse.engine import ProjectSpec, Rehearsal
    from cb_helper.rehearse.report import (
        event_line,
        exit_status,
        log_lines,
        summary_lines,
        terminal_width,
        where_column,
    )
    from cb_helper.rehearse.timeline import Event

    parsed = [project_config(value) for value in projects]
    slugs = [slug for slug, _ in parsed]
    start = start_project or slugs[0]
    if start not in slugs:
        raise BadInput(f"--start {start!r} is not one of the --project slugs ({', '.join(slugs)})")
    for name in token_envs:
        if not _ENV_NAME.match(name):
            raise BadInput(f"--token-env {name!r} is not an environment variable name")
    parameters = merge_parameters(pairs, parameters_json)
    orb_files = orbs_of(orbs)
    context_values = contexts_of(contexts)
    project_env = read_env_file(env_file) if env_file else {}
    report_target = prepare_output_file(str(report_file), "--report") if report_file is not None else None
    specs = {
        slug: ProjectSpec(
            config=path, branches=tuple(dict.fromkeys(["main", branch] if slug == start and not tag else ["main"]))
        )
        for slug, path in parsed
    }
    from cb_helper.rehearse.lint import lint

    for mistake in lint(dict(parsed), orb_files):  # the wiring first: what would hang is said before it runs
        click.echo(f"cb-helper: lint: {mistake}", err=True)
    stream = sys.stderr if as_json else sys.stdout
    color = stream.isatty()
    width = terminal_width(stream)  # None in a log or a pipe: lines are never clipped there
    lock = threading.Lock()
    column = where_column(slugs)

    def live(event: Event) -> None:
        if show_steps or event.kind != "step_finished":
            with lock:
                click.echo(event_line(event, color=color, width=width, column=column), file=stream, color=color)

    with Rehearsal(
        specs,
        orbs=orb_files,
        contexts=context_values,
        project_env=project_env,
        token_env=token_envs or ("CIRCLE_TOKEN",),
        keep_workdir=keep_workdir,
        max_parallel=max_parallel,
        on_event=live,
    ) as rehearsal:
        pipeline_id = rehearsal.start(start, None if tag else branch, parameters, tag=tag, trigger_type=trigger_source)
        result = rehearsal.run_until_settled(timeout)
        workdir = rehearsal.workdir
        if report_target is not None:
            from cb_helper.pattern.report_html import write_page
            from cb_helper.rehearse.report import page_data

            write_page(report_target, page_data(result, pipeline_id, workdir))
    started = next((p for p in result.pipelines if p.id == pipeline_id), None)
    wanted = [name for name in logs if name != "*"]
    try:
        job_logs = log_lines(result, wanted) if logs else []
    except KeyError as exc:
        click.echo(f"cb-helper: --logs: {exc.args[0]}", err=True)
        job_logs = []
    if as_json:
        data = dataclasses.asdict(result)
        if keep_workdir:
            data["workdir"] = str(workdir)
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo("")
        for line in summary_lines(result, color=color, width=terminal_width(sys.stdout)):
            click.echo(line, color=color)
    if job_logs:
        click.echo("", err=as_json)
        for line in job_logs:
            click.echo(line, err=as_json)
    if report_target is not None:
        click.echo(f"report written to {report_target}", err=as_json)
    if keep_workdir:
        click.echo(f"work directory kept: {workdir}", err=as_json)
    code = exit_status(started, result.outcome)
    if code:
        raise click.exceptions.Exit(code)
