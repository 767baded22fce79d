"""``cb-helper sweep``: the command line of :mod:`cb_helper.pattern.sweep` (imported only when the command runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cb_helper.api.errors import CbError
from cb_helper.commands.options import CONTEXT_SETTINGS, api_options, artifact_host_option, json_option, make_client

if TYPE_CHECKING:
    from cb_helper.pattern.sweep import Finding


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--project",
    "projects",
    multiple=True,
    required=True,
    metavar="SLUG",
    help="A project whose held workflows to sweep (A's project); repeatable.",
)
@click.option(
    "--since",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Look at pipelines created this long ago at most (keep it above your longest deadline).",
)
@click.option(
    "--grace",
    default="10m",
    show_default=True,
    metavar="DURATION",
    help="How long a finished or never-started downstream may take to circle back before it is released.",
)
@click.option(
    "--cancel-project",
    "cancel_projects",
    multiple=True,
    metavar="SLUG",
    help="A project in which the sweep may cancel a downstream (B's project); repeatable. A downstream elsewhere "
    "is never canceled: past its deadline its hold is still released, and an orphan is left running.",
)
@click.option("--cancel-orphans", is_flag=True, help="Cancel a downstream whose upstream workflow stopped.")
@click.option("--dry-run", is_flag=True, help="Print what would be done and change nothing.")
@json_option
@artifact_host_option
@api_options
def sweep(
    projects: tuple[str, ...],
    since: str,
    grace: str,
    cancel_projects: tuple[str, ...],
    cancel_orphans: bool,
    dry_run: bool,
    as_json: bool,
    host: str,
    token_env: str,
) -> None:
    """Release every hold a circleback record names whose downstream will not circle back.

    A downstream that finished without circling back, never started, or ran past its deadline (then it is
    canceled first, when its project is a --cancel-project) no longer keeps the upstream on hold. An approval job
    no record names is never touched, and a handoff the API does not prove (a record naming another workflow or
    hold, or a downstream pipeline not triggered through the API while the trigger job ran) leaves its hold alone;
    the line says why. Running it again, or twice at once, does each thing once. Exit 0 unless an action failed (3).

    Example:

    \b
        cb-helper sweep --project gh/acme/project-a --cancel-project gh/acme/project-b \\
            --since 2d --grace 10m --cancel-orphans
    """
    from cb_helper.api.times import format_time, now, parse_duration
    from cb_helper.api.vocabulary import ProjectSlug
    from cb_helper.pattern.render import to_json
    from cb_helper.pattern.sweep import SweepOptions
    from cb_helper.pattern.sweep import sweep as run_sweep

    slugs = [str(ProjectSlug.parse(slug)) for slug in projects]
    cancel_in = tuple(str(ProjectSlug.parse(slug)) for slug in cancel_projects)
    options = SweepOptions(
        since=parse_duration(since, "--since"),
        grace=parse_duration(grace, "--grace"),
        cancel_orphans=cancel_orphans,
        dry_run=dry_run,
        cancel_projects=cancel_in,
    )
    client = make_client(host, token_env)
    moment = now()
    findings = []
    for finding in run_sweep(client, slugs, options, moment):
        findings.append(finding)
        if not as_json:
            click.echo(_line(finding, dry_run))
    if as_json:
        click.echo(to_json({"at": format_time(moment), "dry_run": dry_run, "holds": [f.as_dict() for f in findings]}))
    unproven = sum(1 for f in findings if f.unproven)
    click.echo(
        f"swept {', '.join(slugs)}: {len(findings)} hold(s) named by a record"
        + (f", {unproven} handoff(s) not proven (their holds left alone)" if unproven else ""),
        err=True,
    )
    failed = [f for f in findings if f.error]
    if failed:
        raise CbError(f"{len(failed)} action(s) failed; run the sweep again (it does nothing twice)")


_PLANS = {
    "release": "would release the hold",
    "cancel_and_release": "would cancel B, then release the hold",
    "cancel": "would cancel B",
    "wait": "waiting",
    "none": "nothing to do",
    "leave": "left alone",
}


def _line(finding: Finding, dry_run: bool) -> str:
    number = f" #{finding.pipeline_number}" if finding.pipeline_number is not None else ""
    head = f"{finding.project}{number} {finding.hold} (workflow {finding.workflow_id})"
    down = f"{finding.downstream} pipeline {finding.downstream_pipeline_id}"
    if finding.error:
        did = f"failed: {finding.error}"
    elif dry_run or not finding.done:
        did = _PLANS[finding.decision]
    else:
        did = "; ".join(finding.done)
    return f"{head}: {down}: {finding.found} -> {did}"
