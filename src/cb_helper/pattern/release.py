"""Why A was released: B circled back, the sweeper released it, B was canceled, never started, or ran late.

A's check job has the handoff its trigger kept (the record and B's pipeline id). With B's verdict, the record's
deadline and B's receipt (the artifact B's circle-back stores before it approves), one line says what happened.
The exit status stays the verdict's, except that a B canceled after the deadline passed is a timeout (4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import ExitStatus
from cb_helper.api.times import format_time, parse_time
from cb_helper.api.vocabulary import WORKFLOW_CANCELED
from cb_helper.pattern.proof import artifact_text
from cb_helper.pattern.record import RECEIPT_ARTIFACT, Handoff
from cb_helper.pattern.status import Verdict

#: At most this many of B's jobs are searched for the receipt (newest first; the circle-back is normally last).
RECEIPT_SEARCH_LIMIT = 10


@dataclass
class Release:
    """Why A's hold was released, and the exit status that follows."""

    reason: str  # circled_back, swept_finished, canceled, never_started, deadline_passed, pending
    text: str
    exit_status: ExitStatus
    receipt: Optional[dict[str, Any]] = None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "text": self.text, "receipt": self.receipt}


def never_started(verdict: Verdict) -> bool:
    """B's pipeline errored, or was created and no workflow will run in it."""
    return verdict.state == "errored" or (verdict.state == "created" and not verdict.workflows)


def explain(client: CircleCIClient, verdict: Verdict, handoff: Handoff, moment: datetime) -> Release:
    """The reason A was released, given B's verdict at ``moment``."""
    project = verdict.project_slug or handoff.record.downstream
    deadline = handoff.record.deadline
    if never_started(verdict):
        why = "its pipeline errored" if verdict.state == "errored" else "no workflow ran in its pipeline"
        return Release("never_started", f"{project} never started: {why}", ExitStatus.DOWNSTREAM_CANCELED)
    canceled = [w for w in verdict.current if w.status in WORKFLOW_CANCELED]
    if canceled and verdict.settled:
        late = [w for w in canceled if (parse_time(w.stopped_at) or moment) >= deadline]
        if late:
            return Release(
                "deadline_passed",
                f"the deadline {format_time(deadline)} passed while {project} still ran; it was canceled",
                ExitStatus.TIMEOUT,
            )
        names = ", ".join(w.name for w in canceled)
        return Release("canceled", f"{project} was canceled (workflow {names})", ExitStatus.DOWNSTREAM_CANCELED)
    if not verdict.settled:
        if moment >= deadline:
            return Release(
                "deadline_passed",
                f"the deadline {format_time(deadline)} passed and {project} is still running",
                ExitStatus.TIMEOUT,
            )
        return Release("pending", f"{project} is still running", ExitStatus.TIMEOUT)
    receipt = find_receipt(client, verdict, handoff)
    if receipt is not None:
        return Release("circled_back", f"{project} circled back: {verdict.conclusion}", verdict.exit_status, receipt)
    return Release(
        "swept_finished",
        f"{project} finished ({verdict.conclusion}) without circling back; the hold was released for it",
        verdict.exit_status,
    )


def find_receipt(client: CircleCIClient, verdict: Verdict, handoff: Optional[Handoff]) -> Optional[dict[str, Any]]:
    """B's receipt for this hold: the artifact its circle-back job stored, searched newest job first.

    Without a handoff (only B's pipeline id is known), the newest receipt of any hold.
    """
    jobs: list[dict[str, Any]] = []
    for workflow in verdict.current:
        if workflow.jobs is None:  # read once per verdict: the report of B's tests uses them too
            workflow.jobs = list(client.paginate(f"/workflow/{workflow.id}/job"))
        jobs.extend(
            job for job in workflow.jobs if job.get("type") != "approval" and isinstance(job.get("job_number"), int)
        )
    jobs.sort(key=lambda job: str(job.get("started_at") or ""), reverse=True)
    for job in jobs[:RECEIPT_SEARCH_LIMIT]:
        receipt = _receipt_of(client, job)
        if receipt is not None and (handoff is None or _names_hold(receipt, handoff)):
            return receipt
    return None


def _receipt_of(client: CircleCIClient, job: dict[str, Any]) -> Optional[dict[str, Any]]:
    text = artifact_text(client, job, RECEIPT_ARTIFACT)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _names_hold(receipt: dict[str, Any], handoff: Handoff) -> bool:
    upstream = receipt.get("upstream")
    return (
        isinstance(upstream, dict)
        and upstream.get("workflow_id") == handoff.record.workflow_id
        and upstream.get("hold") == handoff.record.hold
        and receipt.get("downstream_pipeline_id") == handoff.downstream_pipeline_id
    )
