"""Settle and judge: read every workflow of a pipeline, wait until they are terminal, and give one verdict.

A rerun workflow supersedes the earlier workflow of the same name, so a downstream that was retried reports the
retry's result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import AmbiguousRequest, ApiError, ExitStatus, NetworkError
from cb_helper.api.polling import Poller
from cb_helper.api.retry import RETRY_STATUSES
from cb_helper.api.vocabulary import JOB_FAILED, WORKFLOW_CANCELED, WORKFLOW_FAILED, WORKFLOW_TERMINAL

log = logging.getLogger("cb_helper")

APP_HOST = "https://app.circleci.com"
_VCS_NAMES = {"gh": "github", "bb": "bitbucket"}


@dataclass
class WorkflowReport:
    id: str
    name: str
    status: str
    url: str
    failed_jobs: list[str] = field(default_factory=list)
    waiting_jobs: list[str] = field(default_factory=list)
    superseded: bool = False
    stopped_at: Optional[str] = None
    #: The web page of each failed job, in the order of ``failed_jobs`` (``None`` for a job that never ran).
    failed_job_urls: list[Optional[str]] = field(default_factory=list)
    #: The jobs as the API listed them, when they were read (so they are read once per verdict).
    jobs: Optional[list[dict[str, Any]]] = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "url": self.url,
            "failed_jobs": self.failed_jobs,
            "failed_job_urls": self.failed_job_urls,
            "waiting_jobs": self.waiting_jobs,
            "superseded": self.superseded,
            "stopped_at": self.stopped_at,
        }


@dataclass
class Verdict:
    """The pipeline's state and what it means for the caller."""

    pipeline_id: str
    state: str
    number: Optional[int] = None
    project_slug: Optional[str] = None
    workflows: list[WorkflowReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pipeline: Optional[dict[str, Any]] = field(default=None, repr=False)  # the API's answer, as read

    @property
    def created_at(self) -> Optional[str]:
        return self.pipeline.get("created_at") if self.pipeline else None

    @property
    def current(self) -> list[WorkflowReport]:
        return [w for w in self.workflows if not w.superseded]

    @property
    def settled(self) -> bool:
        if self.state == "errored":
            return True
        current = self.current
        return bool(current) and all(w.status in WORKFLOW_TERMINAL for w in current)

    @property
    def conclusion(self) -> str:
        """``success``, ``failed``, ``canceled``, ``errored`` or ``pending``."""
        if self.state == "errored":
            return "errored"
        statuses = {w.status for w in self.current}
        if statuses & WORKFLOW_FAILED:
            return "failed"
        if not self.settled:
            return "pending"
        if statuses & WORKFLOW_CANCELED:
            return "canceled"
        return "success"

    @property
    def exit_status(self) -> ExitStatus:
        return {
            "success": ExitStatus.OK,
            "failed": ExitStatus.DOWNSTREAM_FAILED,
            "canceled": ExitStatus.DOWNSTREAM_CANCELED,
            "errored": ExitStatus.DOWNSTREAM_CANCELED,
            "pending": ExitStatus.TIMEOUT,
        }[self.conclusion]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pipeline_id": self.pipeline_id,
            "number": self.number,
            "project_slug": self.project_slug,
            "state": self.state,
            "conclusion": self.conclusion,
            "exit_status": int(self.exit_status),
            "errors": self.errors,
            "workflows": [w.as_dict() for w in self.workflows],
        }


def read_verdict(
    client: CircleCIClient, pipeline_id: str, pipeline: Optional[dict[str, Any]] = None, jobs: bool = True
) -> Verdict:
    """One look at the pipeline, its workflows, and (with ``jobs``) the jobs of those that failed or wait.

    ``pipeline`` is an earlier answer for it to reuse instead of reading it again.
    """
    if pipeline is None:
        pipeline = client.get(f"/pipeline/{pipeline_id}")
    verdict = Verdict(
        pipeline_id=pipeline_id,
        state=str(pipeline.get("state")),
        number=pipeline.get("number"),
        project_slug=pipeline.get("project_slug"),
        errors=[str(e.get("message")) for e in pipeline.get("errors") or [] if isinstance(e, dict)],
        pipeline=pipeline,
    )
    if verdict.state == "errored":
        return verdict
    workflows = list(client.paginate(f"/pipeline/{pipeline_id}/workflow"))
    newest: dict[str, str] = {}
    for workflow in oldest_first(workflows):
        newest[str(workflow.get("name"))] = str(workflow.get("id"))
    for workflow in workflows:
        report = WorkflowReport(
            id=str(workflow.get("id")),
            name=str(workflow.get("name")),
            status=str(workflow.get("status")),
            url=workflow_url(client.host, verdict.project_slug, verdict.number, str(workflow.get("id"))),
            superseded=newest.get(str(workflow.get("name"))) != workflow.get("id"),
            stopped_at=workflow.get("stopped_at"),
        )
        verdict.workflows.append(report)
    if jobs:
        read_jobs(client, verdict)
    return verdict


def read_jobs(client: CircleCIClient, verdict: Verdict) -> None:
    """Name the failed and the waiting jobs of the current workflows that failed or wait."""
    for report in verdict.current:
        if report.status in WORKFLOW_FAILED | {"on_hold"}:
            report.jobs = list(client.paginate(f"/workflow/{report.id}/job"))
            for job in report.jobs:
                if job.get("status") in JOB_FAILED:
                    report.failed_jobs.append(f"{job.get('name')} ({job.get('status')})")
                    number = job.get("job_number")
                    report.failed_job_urls.append(
                        job_url(client.host, verdict.project_slug, verdict.number, report.id, number)
                    )
                elif job.get("status") == "on_hold":
                    report.waiting_jobs.append(str(job.get("name")))


def settle(
    client: CircleCIClient,
    pipeline_id: str,
    poller: Optional[Poller],
    on_progress: Optional[Callable[[Verdict], None]] = None,
    done: Optional[Callable[[Verdict], bool]] = None,
) -> Verdict:
    """Read the verdict; with a poller, keep reading until it is settled (or ``done``) or the poller gives up.

    While it waits, each poll reads only the workflows once the pipeline has some (a pipeline that runs
    workflows no longer changes state); the jobs of failed or waiting workflows are read once, for the
    verdict it returns. A look that failed for a passing reason (the network, 429 or 5xx after every retry)
    is logged and tried again at the next interval; it is raised only when the poller gives up without a
    verdict.
    """
    pipeline: Optional[dict[str, Any]] = None
    last: Optional[Verdict] = None
    while True:
        try:
            verdict = read_verdict(client, pipeline_id, pipeline, jobs=False)
        except (NetworkError, ApiError) as exc:
            if poller is None or not transient(exc):
                raise
            log.warning("could not read pipeline %s (%s); looking again", pipeline_id, exc)
            if not poller.wait():
                if last is None:
                    raise
                verdict = last
                break
            continue
        last = verdict
        pipeline = verdict.pipeline if verdict.workflows else None
        if verdict.settled or poller is None or (done is not None and done(verdict)):
            break
        if on_progress:
            on_progress(verdict)
        if not poller.wait():
            break
    read_jobs(client, verdict)
    return verdict


def transient(exc: Exception) -> bool:
    """True for a failure that may pass: no answer, or 429/5xx after every retry (not 4xx, not a lost POST)."""
    if isinstance(exc, ApiError):
        return exc.status is not None and exc.status in RETRY_STATUSES
    return isinstance(exc, NetworkError) and not isinstance(exc, AmbiguousRequest)


def oldest_first(workflows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workflows by creation time; on a tie the API's order (newest first) decides."""
    ranked = sorted(enumerate(workflows), key=lambda pair: (str(pair[1].get("created_at") or ""), -pair[0]))
    return [workflow for _, workflow in ranked]


def pipeline_url(host: str, project_slug: Optional[str], number: Optional[int]) -> Optional[str]:
    """The web page of a pipeline (app.circleci.com for the cloud; the host itself for a server install)."""
    if not project_slug or number is None:
        return None
    provider, _, rest = project_slug.partition("/")
    return f"{_web_base(host)}/pipelines/{_VCS_NAMES.get(provider, provider)}/{rest}/{number}"


def workflow_url(host: str, project_slug: Optional[str], number: Optional[int], workflow_id: str) -> str:
    """The web page of a workflow."""
    page = pipeline_url(host, project_slug, number)
    if page is None:
        return f"{_web_base(host)}/workflow-run/{workflow_id}"
    return f"{page}/workflows/{workflow_id}"


def job_url(
    host: str, project_slug: Optional[str], number: Optional[int], workflow_id: str, job_number: object
) -> Optional[str]:
    """The web page of a job that ran (``None`` without a job number)."""
    if not isinstance(job_number, int) or isinstance(job_number, bool):
        return None
    return f"{workflow_url(host, project_slug, number, workflow_id)}/jobs/{job_number}"


def _web_base(host: str) -> str:
    """The cloud's pages live on app.circleci.com; a server install serves them on its own host."""
    return APP_HOST if host.rstrip("/") in ("https://circleci.com", "https://app.circleci.com") else host
