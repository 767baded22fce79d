"""``cb-helper approve``: circle back, proving the circleback record (or with the legacy ids)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import click

from cb_helper.api.errors import BadInput
from cb_helper.commands.options import (
    CONTEXT_SETTINGS,
    Progress,
    api_options,
    artifact_host_option,
    json_option,
    make_client,
    parse_id,
    positive,
    prepare_output_file,
)

if TYPE_CHECKING:
    from cb_helper.pattern.approve import ApprovalResult


@click.command(context_settings=CONTEXT_SETTINGS)
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
    "--outputs",
    "outputs_file",
    metavar="FILE",
    help="With --receipt: values for the upstream (JSON object or KEY=VALUE lines); invalid ones only warn.",
)
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
@artifact_host_option
@api_options
def approve(
    upstream: Optional[str],
    downstream_pipeline_id: Optional[str],
    receipt_file: Optional[str],
    prove_only: bool,
    outputs_file: Optional[str],
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
    from cb_helper.api.polling import Poller
    from cb_helper.api.vocabulary import ProjectSlug
    from cb_helper.pattern import approve as circle_back
    from cb_helper.pattern import receipt as receipts
    from cb_helper.pattern.record import parse_record
    from cb_helper.pattern.render import to_json

    legacy = [v for v in (job_name, workflow_id, pipeline_id, workflow_name) if v is not None]
    modes = sum(1 for given in (upstream is not None, from_receipt is not None, bool(legacy)) if given)
    if modes != 1:
        raise BadInput("give exactly one of --upstream, --from-receipt, or the legacy --job-name with ids")
    allowed = [str(ProjectSlug.parse(slug)) for slug in allow_projects]
    positive(hold_timeout, "--hold-timeout")
    poller = Poller(timeout=hold_timeout, interval=2, max_interval=10)
    if from_receipt is not None:
        receipt = receipts.read_receipt(from_receipt)
        if receipt.get("outcome") == "not_triggered":
            click.echo("the receipt says: not triggered by an upstream, nothing to approve", err=True)
            if as_json:
                click.echo(to_json(receipt))
            return
        client = make_client(host, token_env)
        result = receipts.approve_receipt(client, receipt)
        _report_approval(result, as_json)
        return
    if upstream is not None:
        record = parse_record(upstream, "--upstream")
        receipt_target = prepare_output_file(receipt_file, "--receipt")
        if prove_only and receipt_target is None:
            raise BadInput("--prove-only needs --receipt (the file the next step approves from)")
        if outputs_file is not None and receipt_target is None:
            raise BadInput("--outputs needs --receipt (the outputs travel in the receipt)")
        if record is None:
            click.echo("no circleback record: not triggered by an upstream, nothing to approve", err=True)
            if receipt_target is not None:
                receipts.write_receipt(receipt_target, None, None, None)
            if as_json:
                click.echo(to_json({"outcome": "not_triggered", "approved": False, "already_approved": False}))
            return
        if not downstream_pipeline_id or not downstream_pipeline_id.strip():
            raise BadInput("--downstream-pipeline-id is empty (expected this pipeline's id, pipeline.id)")
        own = parse_id(downstream_pipeline_id, "--downstream-pipeline-id")
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
            receipts.write_receipt(receipt_target, result, record, own, _outputs_for_receipt(outputs_file))
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
        workflow_id = parse_id(workflow_id, "--workflow-id")
    if pipeline_id is not None:
        pipeline_id = parse_id(pipeline_id, "--pipeline-id")
    if not allowed:
        click.echo(
            "cb-helper: warning: the legacy ids cannot be proven; without --allow-project, holds in any project "
            "the token can see are accepted",
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


def _outputs_for_receipt(path: Optional[str]) -> Optional[dict[str, Any]]:
    """B's validated outputs (also written beside the receipt); a problem is one warning, never a failure."""
    if path is None:
        return None
    from cb_helper.pattern.outputs import read_outputs

    outputs = read_outputs(path)
    if outputs.error is not None:
        click.echo(f"cb-helper: warning: no valid outputs for the upstream: {outputs.error}", err=True)
    return outputs.as_dict()


def _report_approval(result: ApprovalResult, as_json: bool) -> None:
    from cb_helper.pattern.approve import describe
    from cb_helper.pattern.render import to_json

    workflow, job_name = result.workflow, result.job.get("name")
    where = f"{describe(workflow)} of {workflow.get('project_slug')}"
    if result.outcome == "approved":
        click.echo(f"approved {job_name} in {where}", err=True)
    elif result.outcome == "proven":
        click.echo(f"proven: {job_name} in {where} is the hold this pipeline may approve", err=True)
    if as_json:
        click.echo(to_json(result.as_dict()))
