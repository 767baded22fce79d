"""The ``cb-helper`` command line: a thin click layer over the library modules.

It parses and validates input (before any API call), calls one library function, renders the result and maps
errors to exit statuses in one place (:func:`main`). Heavy modules (requests, jq, the simulator, the runner) are
imported inside the commands, so ``cb-helper --version`` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

import click

from cb_helper import __version__
from cb_helper.errors import BadInput, CbError, ExitStatus, WaitTimeout

if TYPE_CHECKING:
    from cb_helper.approve import ApprovalResult
    from cb_helper.client import CircleCIClient
    from cb_helper.polling import Poller
    from cb_helper.record import Handoff
    from cb_helper.release import Release
    from cb_helper.status import Verdict

F = TypeVar("F", bound=Callable[..., Any])

#: Subcommands that live beside the helper (simulator, runner): ``name -> (module, attribute)``.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("cb_helper.sim.cli", "sim"),
    "rehearse": ("cb_helper.rehearse.cli", "rehearse"),
    "sweep": ("cb_helper.sweep_cli", "sweep"),
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


#: How long a downstream may take before the sweeper stops waiting for it (see docs/operations.md).
DEFAULT_DEADLINE = "6h"

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def api_options(func: F) -> F:
    """``--host`` and ``--token-env``, shared by every command that calls the API."""
    func = click.option(
        "--token-env",
        default="CIRCLE_TOKEN",
        show_default=True,
        metavar="NAME",
        help="Environment variable holding the CircleCI personal API token (the token itself is never an option).",
    )(func)
    return click.option(
        "--host",
        envvar="CIRCLECI_HOST",
        default="https://circleci.com",
        show_default=True,
        metavar="URL",
        help="CircleCI host (CircleCI Server, or the embedded simulator); env CIRCLECI_HOST.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def make_client(host: str, token_env: str) -> CircleCIClient:
    """Validate host and token (exit 2 when wrong), then build the client. No request is sent here."""
    from cb_helper.auth import read_token
    from cb_helper.client import CircleCIClient, normalize_host
    from cb_helper.tuning import timeouts

    normalize_host(host)
    token = read_token(token_env)
    return CircleCIClient(host, token, timeout=timeouts())


class Progress:
    """Progress on stderr: one live line on a terminal, plain periodic lines otherwise (CI logs)."""

    def __init__(self, every: float = 30.0) -> None:
        self.live = sys.stderr.isatty()
        self.every = every
        self._last_text = ""
        self._last_time = 0.0
        self._width = 0

    def __call__(self, text: str) -> None:
        if self.live:
            padded = text.ljust(self._width)
            self._width = len(text)
            click.echo("\r" + padded, nl=False, err=True)
            return
        now = time.monotonic()
        if text != self._last_text or now - self._last_time >= self.every:
            click.echo(text, err=True)
            self._last_text, self._last_time = text, now

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        """End a live line, so what follows starts on a line of its own."""
        if self.live and self._width:
            click.echo("", err=True)
            self._width = 0


def _uuid(value: str, option: str) -> str:
    from cb_helper.vocabulary import parse_uuid

    return parse_uuid(value, option)


def _positive(value: float, option: str) -> float:
    if value <= 0:
        raise BadInput(f"{option} {value:g} is not a positive number of seconds")
    return value


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


@cli.command()
@click.option("--project", required=True, metavar="SLUG", help="Downstream project, e.g. gh/acme/api.")
@click.option("--branch", metavar="BRANCH", help="Branch to build (exactly one of --branch and --tag).")
@click.option("--tag", metavar="TAG", help="Tag to build.")
@click.option("--definition-id", metavar="UUID", help="Pipeline definition (uses the pipeline/run endpoint).")
@click.option("--parameter", "parameters", multiple=True, metavar="KEY=VALUE", help="Pipeline parameter; repeatable.")
@click.option("--parameters-json", metavar="JSON", help="Pipeline parameters as a JSON object (exact types).")
@click.option("--id-file", type=click.Path(dir_okay=False), help="Also write the new pipeline id to this file.")
@click.option(
    "--upstream-workflow-id",
    metavar="ID",
    help="This workflow ($CIRCLE_WORKFLOW_ID): pass a circleback record naming its hold to the downstream.",
)
@click.option(
    "--hold",
    default="wait-for-triggered-pipeline",
    show_default=True,
    metavar="NAME",
    help="With --upstream-workflow-id: the approval job that waits for the downstream.",
)
@click.option(
    "--deadline",
    default=DEFAULT_DEADLINE,
    show_default=True,
    metavar="DURATION",
    help="With --upstream-workflow-id: when the sweeper may stop waiting for the downstream (e.g. 90m, 6h).",
)
@click.option(
    "--record-parameter",
    default="circleback",
    show_default=True,
    metavar="NAME",
    help="With --upstream-workflow-id: the downstream's pipeline parameter that receives the record.",
)
@click.option(
    "--handoff-file",
    type=click.Path(dir_okay=False),
    help="With --upstream-workflow-id: write the record and the new pipeline id here (store it as an "
    "artifact at circleback/handoff.json).",
)
@click.option("--verify-start/--no-verify-start", default=True, show_default=True, help="Wait until it really runs.")
@click.option(
    "--start-timeout", type=float, default=120.0, show_default=True, metavar="SECONDS", help="With --verify-start."
)
@json_option
@api_options
def trigger(
    project: str,
    branch: Optional[str],
    tag: Optional[str],
    definition_id: Optional[str],
    parameters: tuple[str, ...],
    parameters_json: Optional[str],
    id_file: Optional[str],
    upstream_workflow_id: Optional[str],
    hold: str,
    deadline: str,
    record_parameter: str,
    handoff_file: Optional[str],
    verify_start: bool,
    start_timeout: float,
    as_json: bool,
    host: str,
    token_env: str,
) -> None:
    """Trigger a downstream pipeline and print its id.

    With --upstream-workflow-id, the downstream receives one parameter, the circleback record: this workflow,
    its hold, and a deadline. By default the command then waits until the pipeline really started (state
    created, a workflow exists); a pipeline that errored (e.g. a broken config) fails at once with exit status 5.

    Example:

    \b
        cb-helper trigger --project gh/acme/api --branch main --upstream-workflow-id "$CIRCLE_WORKFLOW_ID" \\
          --hold wait-for-triggered-pipeline --handoff-file handoff.json
    """
    from cb_helper.polling import Poller
    from cb_helper.record import Handoff
    from cb_helper.render import to_json
    from cb_helper.times import parse_duration
    from cb_helper.trigger import TriggerRequest, upstream_record, verify_started
    from cb_helper.trigger import trigger as send_trigger
    from cb_helper.vocabulary import merge_parameters

    merged = merge_parameters(parameters, parameters_json)
    upstream = (upstream_workflow_id or "").strip() or None
    if upstream is not None:
        upstream = _uuid(upstream, "--upstream-workflow-id")
        if not hold.strip():
            raise BadInput("--hold '' is empty (expected the name of the approval job that waits for the downstream)")
        wait_for = parse_duration(deadline, "--deadline")
        if wait_for.total_seconds() <= 0:
            raise BadInput(f"--deadline {deadline!r} is not a positive duration")
        if not record_parameter.strip() or "=" in record_parameter:
            raise BadInput(f"--record-parameter {record_parameter!r} is not a pipeline parameter name")
        if record_parameter in merged:
            raise BadInput(f"parameter {record_parameter!r} is given twice: as --record-parameter and as a parameter")
    elif handoff_file is not None:
        raise BadInput("--handoff-file needs --upstream-workflow-id (there is no record to hand off without it)")
    request = TriggerRequest.build(project, branch=branch, tag=tag, parameters=merged, definition_id=definition_id)
    _positive(start_timeout, "--start-timeout")
    target = _prepare_output_file(id_file)
    handoff_target = _prepare_output_file(handoff_file, "--handoff-file")
    client = make_client(host, token_env)
    record = None
    if upstream is not None:
        record = upstream_record(client, upstream, hold, wait_for, request.project)
        request = TriggerRequest.build(
            project,
            branch=branch,
            tag=tag,
            parameters={**merged, record_parameter: record.encode()},
            definition_id=definition_id,
        )
    result = send_trigger(client, request)
    if target is not None:
        target.write_text(result.id + "\n", encoding="utf-8")
    if record is not None and handoff_target is not None:
        Handoff(record, result.id, result.pipeline.get("number")).write(handoff_target)
    click.echo(f"triggered pipeline {result.id} on {request.project}", err=True)
    if verify_start:
        with Progress() as progress:
            verify_started(client, result, Poller(timeout=start_timeout, interval=1, max_interval=10), progress)
        names = ", ".join(f"{w.get('name')} ({w.get('status')})" for w in result.workflows)
        click.echo(f"pipeline {result.id} started: {names}", err=True)
    if as_json:
        from cb_helper.status import pipeline_url

        pipeline = result.pipeline
        data = {key: pipeline.get(key) for key in ("id", "number", "state", "created_at")}
        data["url"] = pipeline_url(client.host, str(request.project), pipeline.get("number"))
        if verify_start:
            data["workflows"] = [{k: w.get(k) for k in ("id", "name", "status")} for w in result.workflows]
        click.echo(to_json(data))
    else:
        click.echo(result.id)


@cli.command()
@click.option(
    "--upstream",
    metavar="RECORD",
    help="The circleback record (the pipeline parameter circleback, passed whole); empty: not triggered.",
)
@click.option(
    "--downstream-pipeline-id",
    metavar="ID",
    help="With --upstream: this pipeline's own id (pipeline.id), which the record must be proven for.",
)
@click.option(
    "--receipt",
    "receipt_file",
    type=click.Path(dir_okay=False),
    help="With --upstream: write what was proven and done here (store it at circleback/receipt.json).",
)
@click.option("--prove-only", is_flag=True, help="With --upstream: prove and write --receipt, approve nothing.")
@click.option(
    "--from-receipt", type=click.Path(dir_okay=False), help="Approve the hold a --prove-only receipt of this job names."
)
@click.option("--job-name", metavar="NAME", help="Legacy ids: name of the upstream approval job.")
@click.option("--workflow-id", metavar="ID", help="Legacy ids: upstream workflow holding the job (exact).")
@click.option("--pipeline-id", metavar="ID", help="Legacy ids: upstream pipeline; its workflow is chosen safely.")
@click.option("--workflow-name", metavar="NAME", help="With --pipeline-id: only this workflow.")
@click.option(
    "--allow-project",
    "allow_projects",
    multiple=True,
    metavar="SLUG",
    help="Refuse holds of other projects (as the API reports them); required with the legacy ids.",
)
@click.option("--if-triggered", is_flag=True, help="Legacy ids: do nothing (exit 0) when every id given is empty.")
@click.option(
    "--hold-timeout",
    type=float,
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a job that is still blocked to go on hold.",
)
@json_option
@api_options
def approve(
    upstream: Optional[str],
    downstream_pipeline_id: Optional[str],
    receipt_file: Optional[str],
    prove_only: bool,
    from_receipt: Optional[str],
    job_name: Optional[str],
    workflow_id: Optional[str],
    pipeline_id: Optional[str],
    workflow_name: Optional[str],
    allow_projects: tuple[str, ...],
    if_triggered: bool,
    hold_timeout: float,
    as_json: bool,
    host: str,
    token_env: str,
) -> None:
    """Circle back: approve the upstream's approval job.

    With --upstream, the hold is the one the circleback record names, and the record is proven first: a job
    the hold requires must have stored a handoff with this record naming --downstream-pipeline-id. Anything
    else is refused (exit 3). The legacy ids (--job-name with --workflow-id or --pipeline-id) cannot be proven
    and should be limited with --allow-project (the orb requires it). Already approved is success, and so is a
    hold the upstream stopped waiting on (canceled: a warning says so). Nothing is approved when a check fails.

    Example:

    \b
        cb-helper approve --upstream "$CIRCLEBACK" --downstream-pipeline-id "$CIRCLE_PIPELINE_ID"
    """
    from cb_helper import approve as circle_back
    from cb_helper.polling import Poller
    from cb_helper.record import parse_record
    from cb_helper.render import to_json
    from cb_helper.vocabulary import ProjectSlug

    legacy = [v for v in (job_name, workflow_id, pipeline_id, workflow_name) if v is not None]
    modes = sum(1 for given in (upstream is not None, from_receipt is not None, bool(legacy)) if given)
    if modes != 1:
        raise BadInput("give exactly one of --upstream, --from-receipt, or the legacy --job-name with ids")
    allowed = [str(ProjectSlug.parse(slug)) for slug in allow_projects]
    _positive(hold_timeout, "--hold-timeout")
    poller = Poller(timeout=hold_timeout, interval=2, max_interval=10)
    if from_receipt is not None:
        receipt = circle_back.read_receipt(from_receipt)
        if receipt.get("outcome") == "not_triggered":
            click.echo("the receipt says: not triggered by an upstream, nothing to approve", err=True)
            if as_json:
                click.echo(to_json(receipt))
            return
        client = make_client(host, token_env)
        result = circle_back.approve_receipt(client, receipt)
        _report_approval(result, as_json)
        return
    if upstream is not None:
        record = parse_record(upstream, "--upstream")
        receipt_target = _prepare_output_file(receipt_file, "--receipt")
        if prove_only and receipt_target is None:
            raise BadInput("--prove-only needs --receipt (the file the next step approves from)")
        if record is None:
            click.echo("no circleback record: not triggered by an upstream, nothing to approve", err=True)
            if receipt_target is not None:
                circle_back.write_receipt(receipt_target, None, None, None)
            if as_json:
                click.echo(to_json({"outcome": "not_triggered", "approved": False, "already_approved": False}))
            return
        if not downstream_pipeline_id or not downstream_pipeline_id.strip():
            raise BadInput("--downstream-pipeline-id is empty (expected this pipeline's id, pipeline.id)")
        own = _uuid(downstream_pipeline_id, "--downstream-pipeline-id")
        client = make_client(host, token_env)
        with Progress() as progress:
            result = circle_back.approve_record(
                client,
                record,
                downstream_pipeline_id=own,
                allow_projects=allowed,
                poller=poller,
                on_progress=progress,
                dry_run=prove_only,
            )
        if receipt_target is not None:
            circle_back.write_receipt(receipt_target, result, record, own)
        _report_approval(result, as_json)
        return
    workflow_id = (workflow_id or "").strip() or None
    pipeline_id = (pipeline_id or "").strip() or None
    if workflow_id is None and pipeline_id is None:
        if if_triggered:
            click.echo(
                "no upstream workflow or pipeline id: not triggered by an upstream, nothing to approve", err=True
            )
            if as_json:
                click.echo(to_json({"outcome": "not_triggered", "approved": False, "already_approved": False}))
            return
        raise BadInput("give --workflow-id or --pipeline-id (both are empty or missing)")
    if job_name is None or not job_name.strip():
        raise BadInput(f"--job-name {job_name or ''!r} is empty (expected the name of the upstream approval job)")
    if workflow_name is not None and not workflow_name.strip():
        raise BadInput("--workflow-name '' is empty (expected a workflow name)")
    if workflow_id is not None:
        workflow_id = _uuid(workflow_id, "--workflow-id")
    if pipeline_id is not None:
        pipeline_id = _uuid(pipeline_id, "--pipeline-id")
    if not allowed:
        click.echo(
            "cb-helper: warning: the legacy ids cannot be proven; without --allow-project any project the token "
            "can see may be approved",
            err=True,
        )
    client = make_client(host, token_env)
    with Progress() as progress:
        result = circle_back.approve_hold(
            client,
            job_name=job_name,
            workflow_id=workflow_id,
            pipeline_id=pipeline_id,
            workflow_name=workflow_name,
            allow_projects=allowed,
            poller=poller,
            on_progress=progress,
        )
    _report_approval(result, as_json)


def _report_approval(result: ApprovalResult, as_json: bool) -> None:
    from cb_helper.render import to_json

    workflow, job_name = result.workflow, result.job.get("name")
    where = f"workflow {workflow.get('id')} of {workflow.get('project_slug')}"
    if result.outcome == "approved":
        click.echo(f"approved {job_name} in {where}", err=True)
    elif result.outcome == "proven":
        click.echo(f"proven: {job_name} in {where} is the hold this pipeline may approve", err=True)
    if as_json:
        click.echo(to_json(result.as_dict()))


@cli.command()
@click.option("--pipeline-id", metavar="ID", help="The downstream pipeline.")
@click.option("--id-file", type=click.Path(dir_okay=False), help="Read the pipeline id from this file.")
@click.option(
    "--handoff-file",
    type=click.Path(dir_okay=False),
    help="Read the handoff trigger --handoff-file wrote: the pipeline, and why the hold was released.",
)
@click.option("--wait", is_flag=True, help="Wait until every workflow is terminal.")
@click.option("--timeout", type=float, default=1800.0, show_default=True, metavar="SECONDS", help="With --wait.")
@click.option("--interval", type=float, default=5.0, show_default=True, metavar="SECONDS", help="First poll interval.")
@json_option
@api_options
def status(
    pipeline_id: Optional[str],
    id_file: Optional[str],
    handoff_file: Optional[str],
    wait: bool,
    timeout: float,
    interval: float,
    as_json: bool,
    host: str,
    token_env: str,
) -> None:
    """Report a pipeline's workflows and exit with its verdict.

    Every workflow counts (a rerun supersedes its earlier run). Without --wait, a pipeline still running exits
    with status 4, like a wait that ran out. With --handoff-file, one more line says why the upstream's hold was
    released (the downstream circled back, finished without circling back, was canceled, never started, or
    ran past the deadline: exit 4).

    Example:

    \b
        cb-helper status --handoff-file workspace/handoff.json --wait --timeout 3600
    """
    from cb_helper.polling import Poller
    from cb_helper.record import read_handoff
    from cb_helper.release import never_started
    from cb_helper.render import progress_line, to_json, verdict_lines
    from cb_helper.status import settle
    from cb_helper.times import now

    handoff = None
    if handoff_file is not None:
        if pipeline_id is not None or id_file is not None:
            raise BadInput("give exactly one of --pipeline-id, --id-file and --handoff-file")
        handoff = read_handoff(handoff_file)
        pid = handoff.downstream_pipeline_id
    else:
        pid = _read_pipeline_id(pipeline_id, id_file)
    _positive(timeout, "--timeout")
    _positive(interval, "--interval")
    client = make_client(host, token_env)
    poller = Poller(timeout=timeout, interval=interval, max_interval=max(interval, 30.0)) if wait else None
    deadline = handoff.record.deadline if handoff else None

    def done(verdict: Verdict) -> bool:
        return deadline is not None and (never_started(verdict) or now() >= deadline)

    with Progress() as progress:
        verdict = settle(client, pid, poller, lambda v: progress(progress_line(v)), done)
    release = _explained(client, verdict, handoff, poller) if handoff is not None else None
    if as_json:
        data = verdict.as_dict()
        if release is not None:
            data["release"] = release.as_dict()
            data["exit_status"] = int(release.exit_status)
        click.echo(to_json(data))
    else:
        for line in verdict_lines(verdict):
            click.echo(line)
        if release is not None:
            click.echo(f"released: {release.text}")
    if release is not None and release.reason != "pending":
        code = release.exit_status
    elif verdict.conclusion == "pending":
        detail = "still running" if not wait else f"not finished after {timeout:g}s"
        raise WaitTimeout(f"pipeline {pid} is {detail}" + ("" if wait else " (add --wait to wait for it)"))
    else:
        code = verdict.exit_status
    if code != ExitStatus.OK:
        what = f": {release.text}" if release is not None else f" {verdict.conclusion}"
        click.echo(f"cb-helper: downstream pipeline {pid}{what}", err=True)
        click.get_current_context().exit(int(code))


def _explained(client: CircleCIClient, verdict: Verdict, handoff: Handoff, poller: Optional[Poller]) -> Release:
    """Why A was released; while waiting, a look that failed for a passing reason is tried again."""
    from cb_helper.errors import ApiError, NetworkError
    from cb_helper.release import explain
    from cb_helper.status import transient
    from cb_helper.times import now

    while True:
        try:
            return explain(client, verdict, handoff, now())
        except (NetworkError, ApiError) as exc:
            if poller is None or not transient(exc) or not poller.wait():
                raise
            logging.getLogger("cb_helper").warning("could not read why the hold was released (%s); looking again", exc)


@cli.command()
@click.option("--pipeline-id", required=True, metavar="ID")
@click.option("--jq", "jq_expr", metavar="EXPR", help="Filter the JSON array with jq (strings print raw).")
@api_options
def workflows(pipeline_id: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    """Print every workflow of a pipeline (all pages) as one JSON array."""
    pid = _uuid(pipeline_id, "--pipeline-id")
    _print_list(f"/pipeline/{pid}/workflow", jq_expr, host, token_env)


@cli.command()
@click.option("--workflow-id", required=True, metavar="ID")
@click.option("--jq", "jq_expr", metavar="EXPR", help="Filter the JSON array with jq (strings print raw).")
@api_options
def jobs(workflow_id: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    """Print every job of a workflow (all pages) as one JSON array.

    Example:

    \b
        cb-helper jobs --workflow-id "$ID" --jq '.[] | select(.name == "hold") | .id'
    """
    wid = _uuid(workflow_id, "--workflow-id")
    _print_list(f"/workflow/{wid}/job", jq_expr, host, token_env)


@cli.command()
@click.option("--pipeline-id", required=True, metavar="ID")
@api_options
def cancel(pipeline_id: str, host: str, token_env: str) -> None:
    """Cancel every workflow of a pipeline that has not finished; print the ids it canceled."""
    from cb_helper.cancel import cancel_pipeline

    pid = _uuid(pipeline_id, "--pipeline-id")
    client = make_client(host, token_env)
    canceled = cancel_pipeline(client, pid)
    for workflow in canceled:
        click.echo(workflow["id"])
    click.echo(f"canceled {len(canceled)} workflow(s) of pipeline {pid}", err=True)


def _print_list(path: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    from cb_helper.render import compile_jq, jq_lines, to_json

    program = compile_jq(jq_expr) if jq_expr is not None else None
    client = make_client(host, token_env)
    items = list(client.paginate(path))
    if program is None:
        click.echo(to_json(items))
        return
    for line in jq_lines(program, items):
        click.echo(line)


def _prepare_output_file(path: Optional[str], option: str = "--id-file") -> Optional[Path]:
    if path is None:
        return None
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{option} {path!r} cannot be written ({exc.strerror})") from None
    if target.exists() and not target.is_file():
        raise BadInput(f"{option} {path!r} is not a regular file")
    return target


def _read_pipeline_id(pipeline_id: Optional[str], id_file: Optional[str]) -> str:
    if (pipeline_id is None) == (id_file is None):
        raise BadInput("give exactly one of --pipeline-id and --id-file")
    if id_file is not None:
        try:
            text = Path(id_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInput(
                f"--id-file {id_file!r} cannot be read ({exc.strerror}); "
                "expected the file written by cb-helper trigger --id-file"
            ) from None
        return _uuid(text, f"pipeline id in {id_file}")
    assert pipeline_id is not None
    return _uuid(pipeline_id, "--pipeline-id")


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
        exc.show()
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
