"""``cb-helper workflows``, ``jobs`` and ``cancel``: lists of a pipeline or workflow, and canceling."""

from __future__ import annotations

from typing import Optional

import click

from cb_helper.commands.options import (
    CONTEXT_SETTINGS,
    api_options,
    make_client,
    parse_id,
)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--pipeline-id", required=True, metavar="ID")
@click.option("--jq", "jq_expr", metavar="EXPR", help="Filter the JSON array with jq (strings print raw).")
@api_options
def workflows(pipeline_id: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    """Print every workflow of a pipeline (all pages) as one JSON array."""
    pid = parse_id(pipeline_id, "--pipeline-id")
    _print_list(f"/pipeline/{pid}/workflow", jq_expr, host, token_env)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--workflow-id", required=True, metavar="ID")
@click.option("--jq", "jq_expr", metavar="EXPR", help="Filter the JSON array with jq (strings print raw).")
@api_options
def jobs(workflow_id: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    """Print every job of a workflow (all pages) as one JSON array.

    Example:

    \b
        cb-helper jobs --workflow-id "$ID" --jq '.[] | select(.name == "hold") | .id'
    """
    wid = parse_id(workflow_id, "--workflow-id")
    _print_list(f"/workflow/{wid}/job", jq_expr, host, token_env)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--pipeline-id", required=True, metavar="ID")
@api_options
def cancel(pipeline_id: str, host: str, token_env: str) -> None:
    """Cancel every workflow of a pipeline that has not finished; print the ids it canceled."""
    from cb_helper.pattern.cancel import cancel_pipeline

    pid = parse_id(pipeline_id, "--pipeline-id")
    client = make_client(host, token_env)
    canceled = cancel_pipeline(client, pid)
    for workflow in canceled:
        click.echo(workflow["id"])
    click.echo(f"canceled {len(canceled)} workflow(s) of pipeline {pid}", err=True)


def _print_list(path: str, jq_expr: Optional[str], host: str, token_env: str) -> None:
    from cb_helper.pattern.render import compile_jq, jq_lines, to_json

    program = compile_jq(jq_expr) if jq_expr is not None else None
    client = make_client(host, token_env)
    items = list(client.paginate(path))
    if program is None:
        click.echo(to_json(items))
        return
    for line in jq_lines(program, items):
        click.echo(line)
