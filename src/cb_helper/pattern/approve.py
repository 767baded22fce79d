"""Circle back: find the upstream's approval job and approve it, refusing anything doubtful.

With a circleback record (:func:`approve_record`), the hold is the one the record names, and the record is proven
first: a job the hold requires must have stored a handoff carrying this record and naming this downstream pipeline.

With the legacy ids (:func:`approve_hold`), never ``items[0]``: with only a pipeline id, the workflow is the one
holding an ``on_hold`` approval job of that name (newest first, so a rerun wins), or the one named explicitly.
Nothing is approved when the job is not an approval job, when it does not exist, or when its project is not
allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import ApiError, LookupFailed, NetworkError, Refused, WaitTimeout
from cb_helper.api.polling import Poller
from cb_helper.api.vocabulary import JOB_PENDING, same_project
from cb_helper.pattern.proof import handoffs_for_hold
from cb_helper.pattern.record import Record
from cb_helper.pattern.status import oldest_first

log = logging.getLogger("cb_helper")


#: Hold statuses that mean the upstream stopped waiting (its workflow was canceled or never got there).
UPSTREAM_STOPPED = frozenset({"canceled", "not_run"})


@dataclass
class ApprovalResult:
    workflow: dict[str, Any]
    job: dict[str, Any]
    outcome: str  # "approved", "already_approved", "upstream_stopped", or "proven" (a dry run)

    @property
    def already_approved(self) -> bool:
        return self.outcome == "already_approved"

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow.get("id"),
            "workflow_name": self.workflow.get("name"),
            "pipeline_id": self.workflow.get("pipeline_id"),
            "project_slug": self.workflow.get("project_slug"),
            "job_id": self.job.get("id"),
            "job_name": self.job.get("name"),
            "outcome": self.outcome,
            "approved": self.outcome in ("approved", "already_approved"),
            "already_approved": self.already_approved,
        }


def find_job(client: CircleCIClient, workflow_id: str, name: str) -> tuple[Optional[dict[str, Any]], list[str]]:
    """The job called ``name`` (stops paging at the first match) and the names seen on the way."""
    seen: list[str] = []
    for job in client.paginate(f"/workflow/{workflow_id}/job"):
        if job.get("name") == name:
            return job, seen
        seen.append(str(job.get("name")))
    return None, seen


def approve_hold(
    client: CircleCIClient,
    *,
    job_name: str,
    workflow_id: Optional[str] = None,
    pipeline_id: Optional[str] = None,
    workflow_name: Optional[str] = None,
    allow_projects: Sequence[str] = (),
    poller: Optional[Poller] = None,
    on_progress: Optional[Callable[[str], None]] = None,
) -> ApprovalResult:
    """Approve the approval job ``job_name`` of the upstream workflow; see the module docstring."""
    candidates = _candidate_workflows(client, workflow_id, pipeline_id, workflow_name)
    _check_allowed([w for w in candidates if "project_slug" in w], allow_projects)
    poller = poller or Poller(timeout=300, interval=2, max_interval=10)
    while True:
        workflow, job = _pick(client, candidates, job_name)
        _check_allowed([workflow], allow_projects)
        status = job.get("status")
        if status == "on_hold" or status not in JOB_PENDING:
            return _act_on(client, workflow, job)
        # blocked/queued: the jobs it requires (e.g. the trigger job itself) have not finished yet.
        if on_progress:
            on_progress(f"approval job {job_name!r} is {status}; waiting until it is on hold")
        if not poller.wait():
            raise WaitTimeout(
                f"approval job {job_name!r} in workflow {workflow.get('id')} was still {status} after "
                f"{poller.timeout:g}s; nothing approved"
            )
        if pipeline_id and not workflow_id:
            candidates = _candidate_workflows(client, None, pipeline_id, workflow_name)


def approve_record(
    client: CircleCIClient,
    record: Record,
    *,
    downstream_pipeline_id: str,
    allow_projects: Sequence[str] = (),
    poller: Optional[Poller] = None,
    on_progress: Optional[Callable[[str], None]] = None,
    dry_run: bool = False,
) -> ApprovalResult:
    """Prove ``record`` for the pipeline ``downstream_pipeline_id``, then approve the hold it names.

    Nothing is approved unless the hold exists in the named workflow, is an approval job of an allowed project
    (as the API reports it), and a job it requires stored a handoff with this record naming this pipeline.
    ``dry_run`` proves and reports without approving (outcome ``proven``).
    """
    poller = poller or Poller(timeout=300, interval=2, max_interval=10)
    while True:
        jobs = list(client.paginate(f"/workflow/{record.workflow_id}/job"))
        hold = next((job for job in jobs if job.get("name") == record.hold), None)
        if hold is None:
            raise Refused(
                f"workflow {record.workflow_id} has no job named {record.hold!r} "
                f"(jobs there: {_names(job.get('name') for job in jobs)}); the record names no hold; nothing approved"
            )
        if hold.get("type") != "approval":
            raise Refused(
                f"job {record.hold!r} in workflow {record.workflow_id} is a {hold.get('type')} job, not an approval "
                "job; nothing approved"
            )
        workflow = {
            "id": record.workflow_id,
            "name": None,
            "pipeline_id": record.pipeline_id,
            "project_slug": hold.get("project_slug"),
        }
        _check_allowed([workflow], allow_projects)
        status = hold.get("status")
        if status == "on_hold" or status not in JOB_PENDING:
            break
        if on_progress:
            on_progress(f"approval job {record.hold!r} is {status}; waiting until it is on hold")
        if not poller.wait():
            raise WaitTimeout(
                f"approval job {record.hold!r} in workflow {record.workflow_id} was still {status} after "
                f"{poller.timeout:g}s; nothing approved"
            )
    proven = [
        handoff
        for handoff in handoffs_for_hold(client, hold, jobs)
        if handoff.record == record and handoff.downstream_pipeline_id == downstream_pipeline_id
    ]
    if not proven:
        raise Refused(
            f"the record is not proven: no job that {record.hold!r} in workflow {record.workflow_id} requires stored "
            f"a handoff of this record naming pipeline {downstream_pipeline_id}; nothing approved"
        )
    if status == "on_hold" and dry_run:
        return ApprovalResult(workflow, hold, "proven")
    return _act_on(client, workflow, hold)


def _act_on(client: CircleCIClient, workflow: dict[str, Any], job: dict[str, Any]) -> ApprovalResult:
    """Approve a hold that is ``on_hold``; report one already approved or that the upstream stopped waiting on."""
    status, name = job.get("status"), job.get("name")
    if status == "on_hold":
        return approve_job(client, workflow, job)
    if status == "success":
        log.info(
            "job %s in workflow %s was already approved%s", name, workflow.get("id"), _rerun_note(client, workflow)
        )
        return ApprovalResult(workflow, job, "already_approved")
    if status in UPSTREAM_STOPPED:
        # Nobody waits any more: the downstream's own result should not turn red because of it.
        log.warning(
            "approval job %s in workflow %s is %s: the upstream stopped waiting; nothing approved%s",
            name,
            workflow.get("id"),
            status,
            _rerun_note(client, workflow),
        )
        return ApprovalResult(workflow, job, "upstream_stopped")
    raise Refused(f"approval job {name!r} in {describe(workflow)} is {status}; nothing to approve")


def _rerun_note(client: CircleCIClient, workflow: dict[str, Any]) -> str:
    """When the upstream workflow was rerun since (a newer workflow of its name in its pipeline): say which one
    waits now, and that it triggered a downstream of its own. Empty when there is none or it cannot be read."""
    try:
        current = client.get(f"/workflow/{workflow.get('id')}")
        runs = [
            w
            for w in client.paginate(f"/pipeline/{current.get('pipeline_id')}/workflow")
            if w.get("name") == current.get("name")
        ]
    except ApiError:
        return ""
    newest = oldest_first(runs)[-1] if runs else None
    if newest is None or newest.get("id") == current.get("id"):
        return ""
    return (
        f". The hold is gone: workflow {current.get('name')!r} was rerun since as {newest.get('id')} "
        f"({newest.get('status')}), which triggered a downstream of its own: this run's result is not what it waits for"
    )


def _candidate_workflows(
    client: CircleCIClient,
    workflow_id: Optional[str],
    pipeline_id: Optional[str],
    workflow_name: Optional[str],
) -> list[dict[str, Any]]:
    if workflow_id and not (pipeline_id or workflow_name):
        # Nothing to cross-check: the job list names the project, so the workflow itself is not read.
        return [{"id": workflow_id}]
    if workflow_id:
        workflow = client.get(f"/workflow/{workflow_id}")
        if pipeline_id and workflow.get("pipeline_id") != pipeline_id:
            raise Refused(
                f"workflow {workflow_id} belongs to pipeline {workflow.get('pipeline_id')}, "
                f"not to pipeline {pipeline_id}; nothing approved"
            )
        if workflow_name and workflow.get("name") != workflow_name:
            raise Refused(
                f"workflow {workflow_id} is named {workflow.get('name')!r}, not {workflow_name!r}; nothing approved"
            )
        return [workflow]
    assert pipeline_id
    workflows = list(client.paginate(f"/pipeline/{pipeline_id}/workflow"))
    if workflow_name:
        named = [w for w in workflows if w.get("name") == workflow_name]
        if not named:
            raise LookupFailed(
                f"pipeline {pipeline_id} has no workflow named {workflow_name!r} "
                f"(it has: {_names(w.get('name') for w in workflows)})"
            )
        workflows = named
    if not workflows:
        raise LookupFailed(f"pipeline {pipeline_id} has no workflows; nothing to approve")
    return oldest_first(workflows)[::-1]


def _check_allowed(workflows: list[dict[str, Any]], allow_projects: Sequence[str]) -> None:
    if not allow_projects:
        return
    for workflow in workflows:
        slug = str(workflow.get("project_slug"))
        if not any(same_project(slug, allowed) for allowed in allow_projects):
            raise Refused(
                f"workflow {workflow.get('id')} belongs to project {slug}, which is not among the allowed "
                f"projects ({', '.join(allow_projects)}); nothing approved"
            )


def _pick(
    client: CircleCIClient, workflows: list[dict[str, Any]], job_name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (workflow, job) to act on: an ``on_hold`` one, newest first; else the newest that has the job."""
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    names: list[str] = []
    for workflow in workflows:
        job, seen = find_job(client, str(workflow["id"]), job_name)
        if job is None:
            names = names or seen
            continue
        workflow.setdefault("project_slug", job.get("project_slug"))  # only the id was known
        if job.get("type") != "approval":
            raise Refused(
                f"job {job_name!r} in {describe(workflow)} is a {job.get('type')} job, not an approval job; "
                "nothing approved"
            )
        if job.get("status") == "on_hold":
            return workflow, job
        found.append((workflow, job))
    if found:
        return found[0]
    where = workflows[0].get("id") if len(workflows) == 1 else f"{len(workflows)} workflows"
    raise LookupFailed(f"no job named {job_name!r} in {where} (jobs there: {_names(names)}); nothing approved")


def approve_job(client: CircleCIClient, workflow: dict[str, Any], job: dict[str, Any]) -> ApprovalResult:
    """Approve ``job`` of ``workflow``; after a lost answer or a refusal, re-read the job before failing."""
    request_id = job.get("approval_request_id") or job.get("id")
    path = f"/workflow/{workflow['id']}/approve/{request_id}"
    try:
        # Approving twice changes nothing (the second answer is 409), so a lost answer may be re-sent.
        client.post(path, retry_safe=True)
    except (NetworkError, ApiError) as exc:
        # The approval may have landed (every answer lost) or someone else approved first: look before failing.
        current, _ = find_job(client, str(workflow["id"]), str(job.get("name")))
        if current is not None and current.get("status") == "success":
            log.info("approval of %s confirmed by re-reading the job", job.get("name"))
            return ApprovalResult(workflow, current, "already_approved" if isinstance(exc, ApiError) else "approved")
        raise
    return ApprovalResult(workflow, {**job, "status": "success"}, "approved")


def describe(workflow: dict[str, Any]) -> str:
    """``workflow 'name' (id)``, or ``workflow id`` when only the id was read."""
    name = workflow.get("name")
    return f"workflow {name!r} ({workflow.get('id')})" if name else f"workflow {workflow.get('id')}"


def _names(names: Iterable[object]) -> str:
    listed = sorted({str(n) for n in names})
    return ", ".join(listed) if listed else "none"
