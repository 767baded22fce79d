"""The simulator's records (plain dataclasses) and the JSON shapes the API v2 spec gives them.

Records are mutated only by :class:`~cb_helper.sim.state.SimState` under its lock; everything handed
out of the state is a copy. The ``*_json`` functions render a record exactly as CircleCI's spec
describes it (field names, enums, nullability), so the HTTP layer never builds bodies by hand.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from cb_helper.api.vocabulary import REQUIRES_STATUSES


def now() -> _dt.datetime:
    """The current time in UTC (one place, so every timestamp has the same form)."""
    return _dt.datetime.now(_dt.timezone.utc)


def iso(moment: Optional[_dt.datetime]) -> Optional[str]:
    """``2024-01-15T15:32:36.605Z``: the form CircleCI sends (milliseconds, ``Z``)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class User:
    """The owner of a personal API token."""

    id: str
    login: str
    name: str
    token: str = field(repr=False)


@dataclass
class Project:
    """A project the simulator knows; ``tokens=None`` means every known token may use it."""

    slug: str
    tokens: Optional[frozenset[str]] = field(default=None, repr=False)
    config_path: Optional[str] = None
    branches: tuple[str, ...] = ("main",)
    definition_id: str = ""
    #: Branches whose head commit asks CircleCI to skip CI: ``/pipeline/run`` creates no pipeline for them.
    ci_skip_branches: tuple[str, ...] = ()
    #: The project setting "Auto-cancel redundant workflows": a new pipeline on a branch other than the default
    #: branch cancels the branch's workflows that have not finished, API-triggered pipelines' included.
    auto_cancel: bool = False
    next_pipeline_number: int = 1
    next_job_number: int = 1

    @property
    def default_branch(self) -> str:
        return self.branches[0] if self.branches else "main"


@dataclass
class Pipeline:
    id: str
    number: int
    project_slug: str
    state: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    trigger_type: str
    actor_id: str
    actor_login: str
    branch: Optional[str] = None
    tag: Optional[str] = None
    revision: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: The ``/pipeline/run`` fields, when triggered that way (``definition_id``, ``config``, ``checkout``).
    run_request: dict[str, Any] = field(default_factory=dict)
    #: The setup phase of a dynamic config: the key its setup workflow continues the pipeline with
    #: (never sent in any answer), and whether it was used.
    continuation_key: Optional[str] = field(default=None, repr=False)
    continued: bool = False
    #: A scheduled pipeline's schedule (``pipeline.trigger.name``/``.id``); ``None`` otherwise.
    schedule_name: Optional[str] = None

    @property
    def trigger_parameters(self) -> dict[str, Any]:
        return self.parameters


@dataclass
class Workflow:
    id: str
    name: str
    pipeline_id: str
    pipeline_number: int
    project_slug: str
    created_at: _dt.datetime
    started_by: str
    seq: int = 0
    canceled_by: Optional[str] = None
    errored_by: Optional[str] = None
    #: Set by :meth:`SimState.mark_workflow_errored`: the workflow could not run at all.
    errored: bool = False
    rerun_of: Optional[str] = None
    #: Derived, cached by the state after every change (see ``derive.workflow_status``).
    status: str = "running"
    stopped_at: Optional[_dt.datetime] = None


@dataclass
class Job:
    id: str
    name: str
    type: str
    status: str
    workflow_id: str
    project_slug: str
    dependencies: list[str] = field(default_factory=list)
    requires: dict[str, list[str]] = field(default_factory=dict)
    job_number: Optional[int] = None
    started_at: Optional[_dt.datetime] = None
    stopped_at: Optional[_dt.datetime] = None
    approved_by: Optional[str] = None
    canceled_by: Optional[str] = None

    @property
    def approval_request_id(self) -> Optional[str]:
        return self.id if self.type == "approval" else None


@dataclass
class Artifact:
    """An artifact as the list endpoint shows it."""

    path: str
    url: str
    node_index: int = 0


@dataclass
class StoredArtifact:
    """An artifact as the state keeps it: ``link`` is a given URL (``None``: the simulator serves it).

    ``content`` is the bytes, or a file whose bytes are read when the artifact is downloaded.
    """

    path: str
    node_index: int
    link: Optional[str]
    content: Union[bytes, Path] = field(default=b"", repr=False)


@dataclass
class TestResult:
    name: str
    classname: str
    result: str
    file: str = ""
    message: str = ""
    run_time: float = 0.0
    source: str = ""

    __test__ = False  # not a pytest test class, despite the name


@dataclass(frozen=True)
class SimEvent:
    """A change listeners are told about, after it is committed."""

    kind: str
    pipeline_id: str
    workflow_id: Optional[str] = None
    job_id: Optional[str] = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. ``path`` is relative to ``/api/v2``; the token is never kept."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    #: The injected fault, if any (``"status"``, ``"drop"``, ...); ``None`` for a normal answer.
    fault: Optional[str] = None


# --- JSON shapes -----------------------------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "login": user.login, "name": user.name, "avatar_url": None}


def pipeline_creation_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.id,
        "state": pipeline.state,
        "number": pipeline.number,
        "created_at": iso(pipeline.created_at),
    }


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    provider, org, repo = [*pipeline.project_slug.split("/"), "", "", ""][:3]
    host = "bitbucket.org" if provider in ("bb", "bitbucket") else "github.com"
    repo_url = f"https://{host}/{org}/{repo}"
    vcs: dict[str, Any] = {
        "provider_name": "Bitbucket" if host == "bitbucket.org" else "GitHub",
        "origin_repository_url": repo_url,
        "target_repository_url": repo_url,
        "revision": pipeline.revision,
        "commit": {"subject": "Simulated commit", "body": ""},
    }
    if pipeline.tag is not None:
        vcs["tag"] = pipeline.tag
    else:
        vcs["branch"] = pipeline.branch
    return {
        "id": pipeline.id,
        "errors": [{"type": kind, "message": message} for kind, message in pipeline.errors],
        "project_slug": pipeline.project_slug,
        "updated_at": iso(pipeline.updated_at),
        "number": pipeline.number,
        "trigger_parameters": dict(pipeline.parameters),
        "state": pipeline.state,
        "created_at": iso(pipeline.created_at),
        "trigger": {
            "type": pipeline.trigger_type,
            "received_at": iso(pipeline.created_at),
            "actor": {"login": pipeline.actor_login, "avatar_url": None},
        },
        "vcs": vcs,
    }


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pipeline_id": workflow.pipeline_id,
        "id": workflow.id,
        "name": workflow.name,
        "project_slug": workflow.project_slug,
        "status": workflow.status,
        "started_by": workflow.started_by,
        "pipeline_number": workflow.pipeline_number,
        "created_at": iso(workflow.created_at),
        "stopped_at": iso(workflow.stopped_at),
    }
    if workflow.canceled_by is not None:
        body["canceled_by"] = workflow.canceled_by
    if workflow.errored_by is not None:
        body["errored_by"] = workflow.errored_by
    return body


#: The spec's ``Job.requires`` enum lacks ``not_run``; those entries stay in the state but are not sent.
_SENDABLE_REQUIRES = REQUIRES_STATUSES & {"success", "failed", "canceled"}


def job_json(job: Job) -> dict[str, Any]:
    # Chosen: ``started_at`` is null until the job starts, although the spec marks it required and
    # non-null; CircleCI cannot know a start time for a blocked job (see docs/simulator.md).
    body: dict[str, Any] = {
        "dependencies": list(job.dependencies),
        "id": job.id,
        "started_at": iso(job.started_at),
        "name": job.name,
        "project_slug": job.project_slug,
        "status": job.status,
        "type": job.type,
        "stopped_at": iso(job.stopped_at),
    }
    if job.job_number is not None:
        body["job_number"] = job.job_number
    if job.type == "approval":
        body["approval_request_id"] = job.id
    if job.approved_by is not None:
        body["approved_by"] = job.approved_by
    if job.canceled_by is not None:
        body["canceled_by"] = job.canceled_by
    if job.requires:
        body["requires"] = {
            dep: [s for s in statuses if s in _SENDABLE_REQUIRES] for dep, statuses in job.requires.items()
        }
    return body


def _stable_id(kind: str, name: str) -> str:
    """A UUID that stays the same for the same name (projects and organizations have no record of their own)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://circleci.invalid/{kind}/{name.lower()}"))


def _vcs(slug: str) -> tuple[str, str, str, str]:
    """``(provider name, organization, repository, repository URL)`` of a project slug."""
    provider, org, repo = [*slug.split("/"), "", "", ""][:3]
    if provider in ("bb", "bitbucket"):
        return "Bitbucket", org, repo, f"https://bitbucket.org/{org}/{repo}"
    if provider == "circleci":
        return "CircleCI", org, repo, f"https://app.circleci.com/projects/{org}/{repo}"
    return "GitHub", org, repo, f"https://github.com/{org}/{repo}"


def project_json(project: Project) -> dict[str, Any]:
    provider, org, repo, url = _vcs(project.slug)
    org_slug = "/".join(project.slug.split("/")[:2])
    return {
        "slug": project.slug,
        "name": repo,
        "id": _stable_id("project", project.slug),
        "organization_name": org,
        "organization_slug": org_slug,
        "organization_id": _stable_id("organization", org_slug),
        "vcs_info": {"vcs_url": url, "provider": provider, "default_branch": project.default_branch},
    }


def job_details_json(job: Job, workflow: Workflow) -> dict[str, Any]:
    """``GET /project/{slug}/job/{number}``: the job of a workflow, with the facts the list leaves out."""
    _, org, repo, url = _vcs(job.project_slug)
    started = job.started_at or workflow.created_at
    duration = None
    if job.stopped_at is not None:
        duration = int((job.stopped_at - started).total_seconds() * 1000)
    return {
        "web_url": f"https://app.circleci.com/pipelines/{job.project_slug}/{workflow.pipeline_number}"
        f"/workflows/{workflow.id}/jobs/{job.job_number}",
        "project": {
            "id": _stable_id("project", job.project_slug),
            "slug": job.project_slug,
            "name": repo,
            "external_url": url,
        },
        "parallel_runs": [{"index": 0, "status": job.status}],
        "started_at": iso(started),
        "latest_workflow": {"id": workflow.id, "name": workflow.name},
        "name": job.name,
        "executor": {"resource_class": "medium", "type": "docker"},
        "parallelism": 1,
        "status": job.status,
        "number": job.job_number,
        "pipeline": {"id": workflow.pipeline_id},
        "duration": duration,
        "created_at": iso(workflow.created_at),
        "messages": [],
        "contexts": [],
        "organization": {"name": org},
        "queued_at": iso(started),
        "stopped_at": iso(job.stopped_at),
    }


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    return {"path": artifact.path, "node_index": artifact.node_index, "url": artifact.url}


def test_result_json(result: TestResult) -> dict[str, Any]:
    return {
        "message": result.message or "",  # CircleCI sends "" for a passing test, never null
        "source": result.source,
        "run_time": float(result.run_time),
        "file": result.file,
        "result": result.result,
        "name": result.name,
        "classname": result.classname,
    }


test_result_json.__test__ = False  # type: ignore[attr-defined]
