"""``cb-helper trigger``: trigger a downstream pipeline, hand it the circleback record, and check it started."""

from __future__ import annotations

from typing import Optional

import click

from cb_helper.api.errors import BadInput
from cb_helper.commands.options import (
    CONTEXT_SETTINGS,
    DEFAULT_DEADLINE,
    Progress,
    api_options,
    json_option,
    make_client,
    parse_id,
    positive,
    prepare_output_file,
)


@click.command(context_settings=CONTEXT_SETTINGS)
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
    "--trigger-job",
    envvar="CIRCLE_JOB",
    metavar="NAME",
    help="With --upstream-workflow-id: this job's name in the workflow ($CIRCLE_JOB, the default), which the hold "
    "must require directly.",
)
@click.option(
    "--upstream",
    "upstream_text",
    metavar="RECORD",
    help="With --upstream-workflow-id: the record this pipeline was itself triggered with (a chain A -> B -> C); "
    "the new deadline ends before the upstream's, less --chain-margin. Empty: not in a chain.",
)
@click.option(
    "--chain-margin",
    default="10m",
    show_default=True,
    metavar="DURATION",
    help="With --upstream: how much of the upstream's deadline this pipeline keeps for its own check and circle-back.",
)
@click.option(
    "--handoff-file",
    type=click.Path(dir_okay=False),
    help="With --upstream-workflow-id: write the record and the new pipeline id here (store it as an "
    "artifact at circleback/handoff.json).",
)
@click.option("--verify-start/--no-verify-start", default=True, show_default=True, help="Wait until it really runs.")
@click.option(
    "--start-timeout",
    type=float,
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="With --verify-start: how long the pipeline may take to run a workflow (a dynamic config's setup "
    "workflow counts: the setup itself may take longer).",
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
    trigger_job: Optional[str],
    upstream_text: Optional[str],
    chain_margin: str,
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
    created, a workflow exists; or, for a dynamic config, its setup workflow running); a pipeline that errored
    (e.g. a broken config) fails at once with exit status 5.

    Example:

    \b
        cb-helper trigger --project gh/acme/api --branch main --upstream-workflow-id "$CIRCLE_WORKFLOW_ID" \\
          --hold wait-for-triggered-pipeline --handoff-file handoff.json
    """
    from cb_helper.api.polling import Poller
    from cb_helper.api.times import ARTIFACT_RETENTION, format_duration, parse_duration
    from cb_helper.api.vocabulary import merge_parameters
    from cb_helper.pattern.record import Handoff, parse_record
    from cb_helper.pattern.render import to_json
    from cb_helper.pattern.trigger import TriggerRequest, auto_cancel_warning, upstream_record, verify_started
    from cb_helper.pattern.trigger import trigger as send_trigger

    merged = merge_parameters(parameters, parameters_json)
    upstream = (upstream_workflow_id or "").strip() or None
    if upstream is not None:
        upstream = parse_id(upstream, "--upstream-workflow-id")
        if not hold.strip():
            raise BadInput("--hold '' is empty (expected the name of the approval job that waits for the downstream)")
        wait_for = parse_duration(deadline, "--deadline")
        if wait_for.total_seconds() <= 0:
            raise BadInput(f"--deadline {deadline!r} is not a positive duration")
        if wait_for > ARTIFACT_RETENTION:
            click.echo(
                f"cb-helper: warning: --deadline {deadline} outlives CircleCI's artifact retention "
                f"({format_duration(ARTIFACT_RETENTION)} by default, and an organization may lower it): the sweeper "
                "reads A's handoff artifact, so it may not release this hold by the deadline",
                err=True,
            )
        margin = parse_duration(chain_margin, "--chain-margin")
        chained = parse_record(upstream_text or "", "--upstream")
        if not record_parameter.strip() or "=" in record_parameter:
            raise BadInput(f"--record-parameter {record_parameter!r} is not a pipeline parameter name")
        if record_parameter in merged:
            raise BadInput(f"parameter {record_parameter!r} is given twice: as --record-parameter and as a parameter")
    elif handoff_file is not None:
        raise BadInput("--handoff-file needs --upstream-workflow-id (there is no record to hand off without it)")
    elif (upstream_text or "").strip():
        raise BadInput("--upstream needs --upstream-workflow-id (its deadline caps the record this job hands off)")
    request = TriggerRequest.build(project, branch=branch, tag=tag, parameters=merged, definition_id=definition_id)
    positive(start_timeout, "--start-timeout")
    target = prepare_output_file(id_file)
    handoff_target = prepare_output_file(handoff_file, "--handoff-file")
    client = make_client(host, token_env)
    record = None
    if upstream is not None:
        record = upstream_record(
            client,
            upstream,
            hold,
            wait_for,
            request.project,
            trigger_job=(trigger_job or "").strip() or None,
            upstream=chained,
            margin=margin,
        )
        request = TriggerRequest.build(
            project,
            branch=branch,
            tag=tag,
            parameters={**merged, record_parameter: record.encode()},
            definition_id=definition_id,
        )
        warning = auto_cancel_warning(client, record, request)
        if warning is not None:
            click.echo(f"cb-helper: warning: {warning}", err=True)
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
        if result.in_setup:
            names += "; a dynamic config: its setup workflow continues it"
        click.echo(f"pipeline {result.id} started: {names}", err=True)
    if as_json:
        from cb_helper.pattern.status import pipeline_url

        pipeline = result.pipeline
        data = {key: pipeline.get(key) for key in ("id", "number", "state", "created_at")}
        data["url"] = pipeline_url(client.host, str(request.project), pipeline.get("number"))
        if verify_start:
            data["workflows"] = [{k: w.get(k) for k in ("id", "name", "status")} for w in result.workflows]
        click.echo(to_json(data))
    else:
        click.echo(result.id)
