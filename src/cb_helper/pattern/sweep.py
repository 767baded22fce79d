"""The sweeper: every hold a circleback record names gets released by its deadline, whatever happened to B.

It pages the recent pipelines of A's projects, finds approval jobs ``on_hold`` whose required jobs stored a
handoff (so a hold no record names, a person's approval gate, is never touched), proves each handoff from the API
(:mod:`cb_helper.pattern.sweep_checks`: the record names this very workflow and hold, and B's pipeline was
triggered through the API while the job that stored the handoff ran; a handoff that is not proven leaves the hold
alone and the finding says why), looks up the B each proven handoff names, and decides:

* B finished (any terminal status) and the hold is still on hold after ``grace``: approve it, so A's check
  reports B's real verdict;
* B never started (errored, or no workflow ``grace`` after it was created): approve;
* B still running past the deadline: cancel B's unfinished workflows, then approve;
* with ``cancel_orphans``: A's workflow canceled or failed while B still runs: cancel B.

B is canceled only in a project of ``cancel_projects`` (``--cancel-project``). For a B outside it the sweep cancels
nothing: past the deadline it still releases the hold (A's check then says the deadline passed while B still
runs), and an orphaned B is left running; the finding says so.

Every action is idempotent: a hold already approved or a B already canceled, by another sweep or anyone else,
counts as done. ``dry_run`` decides and reports without acting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import CbError
from cb_helper.api.times import format_duration, format_time, parse_time
from cb_helper.api.vocabulary import WORKFLOW_TERMINAL
from cb_helper.pattern.approve import approve_job
from cb_helper.pattern.cancel import cancel_pipeline
from cb_helper.pattern.chain import cancel_chain, describe_links
from cb_helper.pattern.status import Verdict, read_verdict
from cb_helper.pattern.sweep_checks import StoredHandoff, may_cancel, stored_for_hold, verify

log = logging.getLogger("cb_helper")

#: A's workflow statuses in which a hold may wait (another branch of the workflow may still run).
HOLDING = frozenset({"on_hold", "running", "failing"})
#: A's workflow statuses that make a running B an orphan.
ORPHANING = frozenset({"canceled", "failed", "error", "unauthorized"})


@dataclass
class Finding:
    """One hold (or orphaned B) the sweep looked at: what it found, decided and did."""

    project: str
    pipeline_number: Optional[int]
    workflow_id: str
    hold: str
    downstream: str
    downstream_pipeline_id: str
    found: str
    decision: str  # release, cancel_and_release, cancel, wait, none, leave (the handoff is not proven)
    done: list[str] = field(default_factory=list)
    error: Optional[str] = None
    #: Why the handoff was not believed (then the hold is left alone); ``None`` when it was proven.
    unproven: Optional[str] = None
    #: Whether B's project is one the sweep may cancel in (``--cancel-project``); ``None`` when not proven.
    cancel_allowed: Optional[bool] = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "pipeline_number": self.pipeline_number,
            "workflow_id": self.workflow_id,
            "hold": self.hold,
            "downstream": self.downstream,
            "downstream_pipeline_id": self.downstream_pipeline_id,
            "found": self.found,
            "decision": self.decision,
            "done": self.done,
            "error": self.error,
            "unproven": self.unproven,
            "cancel_allowed": self.cancel_allowed,
        }


@dataclass
class SweepOptions:
    since: timedelta
    grace: timedelta
    cancel_orphans: bool = False
    dry_run: bool = False
    #: The projects in which B may be canceled (``--cancel-project``); empty: cancel nowhere.
    cancel_projects: tuple[str, ...] = ()


def sweep(
    client: CircleCIClient, projects: Sequence[str], options: SweepOptions, moment: datetime
) -> Iterator[Finding]:
    """Look at every recent held (or, with ``cancel_orphans``, stopped) workflow of ``projects``; act; report."""
    oldest = moment - options.since
    for project in projects:
        for pipeline in client.paginate(f"/project/{project}/pipeline"):
            created = parse_time(pipeline.get("created_at"))
            if created is not None and created < oldest:
                break  # newest first: the rest are older still
            for workflow in client.paginate(f"/pipeline/{pipeline['id']}/workflow"):
                status = workflow.get("status")
                if status in HOLDING or (options.cancel_orphans and status in ORPHANING):
                    yield from _sweep_workflow(client, project, workflow, options, moment)


def _sweep_workflow(
    client: CircleCIClient, project: str, workflow: dict[str, Any], options: SweepOptions, moment: datetime
) -> Iterator[Finding]:
    jobs = list(client.paginate(f"/workflow/{workflow['id']}/job"))
    orphaned = workflow.get("status") in ORPHANING
    for hold in jobs:
        if hold.get("type") != "approval" or (not orphaned and hold.get("status") != "on_hold"):
            continue
        stored = stored_for_hold(client, hold, jobs)
        findings = [_judge(client, project, workflow, hold, one, options, moment, orphaned) for one in stored]
        if hold.get("status") == "success":
            # Approved long ago: only a B that still runs for a stopped A is news (--cancel-orphans cancels it).
            findings = [f for f in findings if f.decision != "none"]
        release = any(f.decision in ("release", "cancel_and_release") for f in findings)
        for finding in findings:
            if not options.dry_run:
                _act(client, workflow, hold, finding, release, options)
            yield finding


def _judge(
    client: CircleCIClient,
    project: str,
    workflow: dict[str, Any],
    hold: dict[str, Any],
    stored: StoredHandoff,
    options: SweepOptions,
    moment: datetime,
    orphaned: bool,
) -> Finding:
    handoff = stored.handoff
    finding = Finding(
        project=str(workflow.get("project_slug")),
        pipeline_number=workflow.get("pipeline_number"),
        workflow_id=str(workflow.get("id")),
        hold=str(hold.get("name")),
        downstream=handoff.record.downstream,
        downstream_pipeline_id=handoff.downstream_pipeline_id,
        found="",
        decision="wait",
    )
    proof = verify(client, project, workflow, hold, stored)
    if not proof.proven:
        finding.unproven = proof.reason
        finding.found, finding.decision = f"not proven: {proof.reason}", "leave"
        return finding
    # Statuses decide; job names are not needed. The pipeline was read by the proof.
    b = read_verdict(client, handoff.downstream_pipeline_id, pipeline=proof.pipeline, jobs=False)
    finding.cancel_allowed = may_cancel(str(b.project_slug), options.cancel_projects)
    _decide(finding, workflow, handoff.record.deadline, b, options, moment, orphaned)
    if finding.decision in ("cancel", "cancel_and_release") and not finding.cancel_allowed:
        finding.decision = "none" if finding.decision == "cancel" else "release"
        finding.found += f"; {b.project_slug} is not a --cancel-project, so B is left running"
    return finding


def _decide(
    finding: Finding,
    workflow: dict[str, Any],
    deadline: datetime,
    b: Verdict,
    options: SweepOptions,
    moment: datetime,
    orphaned: bool,
) -> None:
    """What B's state calls for, as if B may be canceled (the allow-list is applied after)."""
    running = [w for w in b.current if w.status not in WORKFLOW_TERMINAL]
    if orphaned:
        finding.found = f"A's workflow is {workflow.get('status')}; B " + (
            f"still runs ({', '.join(w.name for w in running)})" if running else "is not running"
        )
        finding.decision = "cancel" if running else "none"
        return
    if b.state == "errored":
        finding.found, finding.decision = "B never started: its pipeline errored", "release"
    elif not b.workflows:
        created = parse_time(b.created_at)
        if created is not None and moment - created >= options.grace:
            finding.found, finding.decision = "B never started: no workflow ran", "release"
        else:
            finding.found = f"B has no workflow yet (state {b.state})"
    elif b.settled:
        stops = [parse_time(w.stopped_at) for w in b.current]
        finished = max((t for t in stops if t is not None), default=None)
        if finished is None or moment - finished >= options.grace:
            finding.found = f"B finished ({b.conclusion}) without circling back"
            finding.decision = "release"
        else:
            finding.found = f"B finished ({b.conclusion}); within the grace period for its circle-back"
    elif moment >= deadline:
        finding.found = f"B still running past the deadline {format_time(deadline)}"
        finding.decision = "cancel_and_release"
    else:
        finding.found = (
            f"B running ({', '.join(w.name for w in running)}); deadline in {format_duration(deadline - moment)}"
        )


def _act(
    client: CircleCIClient,
    workflow: dict[str, Any],
    hold: dict[str, Any],
    finding: Finding,
    release: bool,
    options: SweepOptions,
) -> None:
    try:
        cancel = finding.decision in ("cancel", "cancel_and_release")
        if cancel:
            canceled = cancel_pipeline(client, finding.downstream_pipeline_id)
            finding.done.append(f"canceled {len(canceled)} workflow(s) of B" if canceled else "B was already stopped")
        if release and hold.get("status") == "on_hold":
            result = approve_job(client, workflow, hold)
            hold["status"] = "success"  # one approval per hold, even for several handoffs
            finding.done.append(
                "released the hold" if result.outcome == "approved" else "the hold was already released"
            )
        if cancel:  # A is released first: walking B's chain reads every job's artifacts
            below = cancel_chain(
                client,
                finding.downstream_pipeline_id,
                finding.downstream,
                lambda slug: may_cancel(slug, options.cancel_projects),
            )
            finding.done.extend(describe_links(below))
    except CbError as exc:
        finding.error = str(exc)
        log.warning("sweep: %s %s: %s", finding.project, finding.hold, exc)
