"""``cb-helper outputs``: the values a downstream sent back, on their own (imported only when the command runs)."""

from __future__ import annotations

from typing import Optional

import click

from cb_helper.api.errors import BadInput, LookupFailed
from cb_helper.commands.options import CONTEXT_SETTINGS, api_options, artifact_host_option, make_client


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--pipeline-id", metavar="ID", help="The downstream pipeline (its newest circle-back receipt).")
@click.option(
    "--handoff-file",
    type=click.Path(dir_okay=False),
    help="The handoff trigger --handoff-file wrote: the receipt for exactly that hold.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "env"]),
    default="json",
    show_default=True,
    help="A JSON object, or shell-quoted NAME=VALUE lines (names get --env-prefix).",
)
@click.option("--env-prefix", default="CIRCLEBACK_", show_default=True, metavar="PREFIX", help="With --format env.")
@artifact_host_option
@api_options
def outputs(
    pipeline_id: Optional[str],
    handoff_file: Optional[str],
    output_format: str,
    env_prefix: str,
    host: str,
    token_env: str,
) -> None:
    """Print the outputs a downstream pipeline sent back with its circle-back.

    They come from the receipt its circle-back job stored. When it sent none, or invalid ones, an empty
    object (or nothing) is printed and stderr says why; a pipeline with no receipt is exit 3.

    Example:

    \b
        cb-helper outputs --handoff-file /tmp/circleback/pipeline-id.handoff.json --format env
    """
    from cb_helper.api.vocabulary import parse_uuid
    from cb_helper.pattern.outputs import check_prefix, env_text
    from cb_helper.pattern.record import read_handoff
    from cb_helper.pattern.release import find_receipt
    from cb_helper.pattern.render import to_json
    from cb_helper.pattern.report_back import outputs_of
    from cb_helper.pattern.status import read_verdict

    if (pipeline_id is None) == (handoff_file is None):
        raise BadInput("give exactly one of --pipeline-id and --handoff-file")
    handoff = read_handoff(handoff_file) if handoff_file is not None else None
    pid = handoff.downstream_pipeline_id if handoff is not None else parse_uuid(str(pipeline_id), "--pipeline-id")
    check_prefix(env_prefix)
    client = make_client(host, token_env)
    receipt = find_receipt(client, read_verdict(client, pid), handoff)
    if receipt is None:
        raise LookupFailed(f"pipeline {pid} has no circle-back receipt (it did not circle back, or not yet)")
    found = outputs_of(receipt)
    if found.status != "valid":
        click.echo(f"cb-helper: {found.describe(f'pipeline {pid}')}", err=True)
    if output_format == "env":
        click.echo(env_text(found.values, env_prefix), nl=False)
    else:
        click.echo(to_json(found.values))
