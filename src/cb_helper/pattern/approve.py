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
from cb_helper.api.times import now, parse_time
from cb_helper.api.vocabulary import JOB_PENDING, JOB_TERMINAL, WORKFLOW_TERMINAL, same_project
from cb_helper.pattern.proof import handoffs_for_hold
from cb_helper.pattern.record import Handoff, Record
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
        siblings = list(client.paginate(f"/workflow/{workflow['id']}/job"))
        stopped = never_on_hold(client, str(workflow["id"]), job, siblings)
        if stopped is not None:
            log.warning(
                "approval job %s in %s will never go on hold (%s): the upstream stopped waiting; nothing approved",
                job_name,
                describe(workflow),
                stopped,
            )
            return ApprovalResult(workflow, job, "upstream_stopped")
        if on_progress:
            on_progress(f"approval job {job_name!r} is {status}; waiting until it is on hold")
        if not poller.wait():
            raise WaitTimeout(
                f"approval job {job_name!r} in workflow {workflow.get('id')} was still {status} after "
                f"{poller.timeout:g}s; nothing approved"
            )
        if pipeline_id and not workflow_id:
            candidates = _candidate_workflows(client, None, pipeline_id, workflow_name)


#: How long after the jobs a hold requires stopped their artifacts may still be missing from the list (artifact
#: lists may lag a job's end); within it, a record with no handoff at all is looked for again before refusing.
ARTIFACT_LAG = 30.0


def approve_record(
    client: CircleCIClient,
    record: Record,
    *,
    downstream_pipeline_id: str,
    allow_projects: Sequence[str] = (),
    poller: Optional[Poller] = None,
    on_progress: Optional[Callable[[str], None]] = None,
    dry_run: bool = False,
    artifact_lag: float = ARTIFACT_LAG,
) -> ApprovalResult:
    """Prove ``record`` for the pipeline ``downstream_pipeline_id``, then approve the hold it names.

    Nothing is approved unless the hold exists in the named workflow, is an approval job of an allowed project
    (as the API reports it), and a job it requires stored a handoff with this record naming this pipeline.
    ``dry_run`` proves and reports without approving (outcome ``proven``).

    While the hold is blocked, ``poller`` bounds the wait for it to go on hold; a hold that never will (A's
    workflow ended, or a job it requires ended in a status it does not accept) ends the wait at once with the
    outcome ``upstream_stopped``, as does a hold A stopped waiting on: nothing is approved, so nothing needs
    proving. A hold on hold whose required jobs stored no handoff yet is looked at again until ``artifact_lag``
    seconds after they stopped.
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
        if status in UPSTREAM_STOPPED:
            return _act_on(client, workflow, hold)
        if status == "on_hold" or status not in JOB_PENDING:
            break
        stopped = never_on_hold(client, record.workflow_id, hold, jobs)
        if stopped is not None:
            log.warning(
                "approval job %s in workflow %s will never go on hold (%s): the upstream stopped waiting; "
                "nothing approved",
                record.hold,
                record.workflow_id,
                stopped,
            )
            return ApprovalResult(workflow, hold, "upstream_stopped")
        if on_progress:
            on_progress(f"approval job {record.hold!r} is {status}; waiting until it is on hold")
        if not poller.wait():
            raise WaitTimeout(
                f"approval job {record.hold!r} in workflow {record.workflow_id} was still {status} after "
                f"{poller.timeout:g}s; nothing approved"
            )
    proven = _proven_handoffs(client, hold, jobs, record, downstream_pipeline_id, artifact_lag, on_progress)
    if not proven:
        raise Refused(
            f"the record is not proven: no job that {record.hold!r} in workflow {record.workflow_id} requires stored "
            f"a handoff of this record naming pipeline {downstream_pipeline_id}; nothing approved"
        )
    if status == "on_hold" and dry_run:
        return ApprovalResult(workflow, hold, "proven")
    return _act_on(client, workflow, hold)


def never_on_hold(
    client: CircleCIClient, workflow_id: str, hold: dict[str, Any], jobs: Sequence[dict[str, Any]]
) -> Optional[str]:
    """Why a blocked ``hold`` will never go on hold, or ``None`` while it still may.

    A job it requires that ended in a status the hold does not accept (``requires``, else success only) keeps
    it blocked; so does a workflow that already ended (CircleCI lists the jobs that never ran as blocked).
    """
    by_id = {str(job.get("id")): job for job in jobs}
    requires = hold.get("requires")
    accepted: dict[str, Any] = requires if isinstance(requires, dict) else {}
    for dependency in hold.get("dependencies") or []:
        job = by_id.get(str(dependency))
        if job is None:
            continue
        status = job.get("status")
        wanted = accepted.get(str(dependency)) or ["success"]
        if status in JOB_TERMINAL and status not in wanted:
            return f"the job it requires, {job.get('name')}, is {status}"
    status = client.get(f"/workflow/{workflow_id}").get("status")
    if status in WORKFLOW_TERMINAL:
        return f"its workflow is {status}"
    return None


def _proven_handoffs(
    client: CircleCIClient,
    hold: dict[str, Any],
    jobs: list[dict[str, Any]],
    record: Record,
    downstream_pipeline_id: str,
    artifact_lag: float,
    on_progress: Optional[Callable[[str], None]],
) -> list[Handoff]:
    """The handoffs that prove ``record``; while none at all is listed, looked for again within the lag."""
    looks = Poller(timeout=max(0.0, _lag_left(hold, jobs, artifact_lag)), interval=2, max_interval=5)
    while True:
        stored = handoffs_for_hold(client, hold, jobs)
        proven = [h for h in stored if h.record == record and h.downstream_pipeline_id == downstream_pipeline_id]
        if proven or stored:
            return proven
        if on_progress:
            on_progress(f"no handoff listed yet for {record.hold!r}; artifact lists may lag a job's end, looking again")
        if not looks.wait():
            return []


def _lag_left(hold: dict[str, Any], jobs: Sequence[dict[str, Any]], artifact_lag: float) -> float:
    """Seconds left until ``artifact_lag`` after the last job ``hold`` requires stopped (0 when unknown)."""
    needed = {str(d) for d in hold.get("dependencies") or []}
    stops = [parse_time(job.get("stopped_at")) for job in jobs if str(job.get("id")) in needed]
    latest = max((t for t in stops if t is not None), default=None)
    if latest is None:
        return 0.0
    return artifact_lag - (now() - latest).total_seconds()


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
