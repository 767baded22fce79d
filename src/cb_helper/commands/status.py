"""``cb-helper status``: B's verdict, why A was released, and what B sent back."""

from __future__ import annotations

import logging
import shutil
import sys
from typing import TYPE_CHECKING, Optional

import click

from cb_helper.api.errors import BadInput, ExitStatus, WaitTimeout
from cb_helper.commands.options import (
    CONTEXT_SETTINGS,
    Progress,
    api_options,
    artifact_host_option,
    json_option,
    make_client,
    positive,
    prepare_output_dir,
    prepare_output_file,
    read_pipeline_id,
)

if TYPE_CHECKING:
    from pathlib import Path

    from cb_helper.api.client import CircleCIClient
    from cb_helper.api.polling import Poller
    from cb_helper.pattern.record import Handoff
    from cb_helper.pattern.release import Release
    from cb_helper.pattern.report_back import Delivery
    from cb_helper.pattern.status import Verdict


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--pipeline-id", metavar="ID", help="The downstream pipeline.")
@click.option("--id-file", type=click.Path(dir_okay=False), help="Read the pipeline id from this file.")
@click.option(
    "--handoff-file",
    type=click.Path(dir_okay=False),
    help="Read the handoff trigger --handoff-file wrote: the pipeline, and why the hold was released.",
)
@click.option("--wait", is_flag=True, help="Wait until every workflow is terminal.")
@click.option("--timeout", type=float, default=1800.0, show_default=True, metavar="SECONDS", help="With --wait.")
@click.option("--interval", type=float, default=2.0, show_default=True, metavar="SECONDS", help="First poll interval.")
@click.option(
    "--outputs-dir",
    type=click.Path(file_okay=False),
    help="Write the downstream's outputs here: outputs.json and outputs.env (empty when it sent none).",
)
@click.option(
    "--env-prefix",
    default="CIRCLEBACK_",
    show_default=True,
    metavar="PREFIX",
    help="Prefix of the variable names in outputs.env.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False),
    help="Write the downstream's failing tests here as JUnit XML (only when there are some).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    help="Also write the circleback as one self-contained HTML page: A's workflow (with --handoff-file) and the "
    "downstream's on one time axis, why A was released, failed jobs, failing tests and outputs.",
)
@json_option
@artifact_host_option
@api_options
def status(
    pipeline_id: Optional[str],
    id_file: Optional[str],
    handoff_file: Optional[str],
    wait: bool,
    timeout: float,
    interval: float,
    outputs_dir: Optional[str],
    env_prefix: str,
    junit_file: Optional[str],
    html_file: Optional[str],
    as_json: bool,
    host: str,
    token_env: str,
) -> None:
    """Report a pipeline's workflows and exit with its verdict.

    Every workflow counts (a rerun supersedes its earlier run). Without --wait, a pipeline still running exits
    with status 4, like a wait that ran out. With --handoff-file, one more line says why the upstream's hold was
    released (the downstream circled back, finished without circling back, was canceled, never started, or
    ran past the deadline: exit 4), and one which outputs the downstream sent. A finished downstream's failing
    tests are listed (the first ten; --junit writes them all, up to 1000); a passing one gets one line.

    Example:

    \b
        cb-helper status --handoff-file workspace/handoff.json --wait --timeout 3600
    """
    from cb_helper.api.polling import Poller
    from cb_helper.api.times import now
    from cb_helper.pattern.outputs import check_prefix
    from cb_helper.pattern.record import read_handoff
    from cb_helper.pattern.release import find_receipt, never_started
    from cb_helper.pattern.render import progress_line, to_json, verdict_lines
    from cb_helper.pattern.report_back import deliver
    from cb_helper.pattern.status import settle

    handoff = None
    if handoff_file is not None:
        if pipeline_id is not None or id_file is not None:
            raise BadInput("give exactly one of --pipeline-id, --id-file and --handoff-file")
        handoff = read_handoff(handoff_file)
        pid = handoff.downstream_pipeline_id
    else:
        pid = read_pipeline_id(pipeline_id, id_file)
    positive(timeout, "--timeout")
    positive(interval, "--interval")
    check_prefix(env_prefix)
    outputs_target = prepare_output_dir(outputs_dir)
    junit_target = prepare_output_file(junit_file, "--junit")
    html_target = prepare_output_file(html_file, "--html")
    client = make_client(host, token_env)
    poller = Poller(timeout=timeout, interval=interval, max_interval=max(interval, 30.0)) if wait else None
    deadline = handoff.record.deadline if handoff else None

    def done(verdict: Verdict) -> bool:
        return deadline is not None and (never_started(verdict) or now() >= deadline)

    with Progress() as progress:
        verdict = settle(client, pid, poller, lambda v: progress(progress_line(v)), done)
    release = _explained(client, verdict, handoff, poller) if handoff is not None else None
    with_outputs = handoff is not None or outputs_target is not None
    receipt = release.receipt if release is not None else None
    if receipt is None and handoff is None and outputs_target is not None and verdict.settled:
        receipt = find_receipt(client, verdict, None)
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    delivery = deliver(
        client,
        verdict,
        receipt,
        with_outputs=with_outputs,
        outputs_dir=outputs_target,
        env_prefix=env_prefix,
        junit_file=junit_target,
        width=width,
    )
    if as_json:
        data = verdict.as_dict()
        if release is not None:
            data["release"] = release.as_dict()
            data["exit_status"] = int(release.exit_status)
        data.update(delivery.as_dict())
        click.echo(to_json(data))
    else:
        for line in verdict_lines(verdict):
            click.echo(line)
        if release is not None:
            click.echo(f"released: {release.text}")
        for line in delivery.lines:
            click.echo(line)
    if html_target is not None:
        _write_page(html_target, client, verdict, handoff, release, delivery)
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
        if handoff is not None:
            click.echo(f"cb-helper: {NEW_VERDICT}", err=True)
        click.get_current_context().exit(int(code))


#: What a failed check says about reruns: rerunning only the check reads the same downstream run again.
NEW_VERDICT = (
    "rerunning this job alone reads the same downstream run again and gives this verdict again; for a new one, "
    "rerun the downstream's workflow (from failed) and then this job, or rerun this workflow from the start to "
    "trigger a new downstream (see docs/reruns.md)"
)


def _write_page(
    path: Path,
    client: CircleCIClient,
    verdict: Verdict,
    handoff: Optional[Handoff],
    release: Optional[Release],
    delivery: Delivery,
) -> None:
    """The HTML page; a look that fails here is a warning, never a change of the verdict."""
    from cb_helper.api.errors import ApiError, NetworkError
    from cb_helper.api.times import now
    from cb_helper.pattern.report_html import status_page, write_page

    try:
        page = status_page(client, verdict, handoff=handoff, release=release, delivery=delivery, moment=now())
    except (NetworkError, ApiError) as exc:
        logging.getLogger("cb_helper").warning("the HTML page shows only the downstream (%s)", exc)
        try:
            page = status_page(client, verdict, handoff=None, release=release, delivery=delivery, moment=now())
        except (NetworkError, ApiError) as again:
            logging.getLogger("cb_helper").warning("could not write the HTML page %s (%s)", path, again)
            return
    write_page(path, page)
    click.echo(f"the circleback on one page: {path}", err=True)


def _explained(client: CircleCIClient, verdict: Verdict, handoff: Handoff, poller: Optional[Poller]) -> Release:
    """Why A was released; while waiting, a look that failed for a passing reason is tried again."""
    from cb_helper.api.errors import ApiError, NetworkError
    from cb_helper.api.times import now
    from cb_helper.pattern.release import explain
    from cb_helper.pattern.status import transient

    while True:
        try:
            return explain(client, verdict, handoff, now())
        except (NetworkError, ApiError) as exc:
            if poller is None or not transient(exc) or not poller.wait():
                raise
            logging.getLogger("cb_helper").warning("could not read why the hold was released (%s); looking again", exc)
