"""All of the simulator's state: plain records guarded by one lock, and the moves tests make on them.

Every public method takes the lock, changes records, recomputes derived statuses, releases the lock
and only then tells listeners. Everything returned is a copy, safe to read without the lock.
"""

from __future__ import annotations

import copy
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar

from cb_helper.sim import derive
from cb_helper.sim.model import (
    Artifact,
    Job,
    Pipeline,
    Project,
    RequestRecord,
    SimEvent,
    TestResult,
    User,
    Workflow,
    now,
)
from cb_helper.sim.paging import PageTokens
from cb_helper.vocabulary import (
    JOB_TERMINAL,
    JOB_TYPES,
    PIPELINE_ERROR_TYPES,
    PIPELINE_STATES,
    REQUIRES_STATUSES,
    ProjectSlug,
    is_uuid,
    same_project,
)

Listener = Callable[[SimEvent], None]
T = TypeVar("T")

#: The user pipelines created from Python (not through the API) are attributed to.
_SYSTEM_USER_ID = "00000000-0000-4000-8000-000000000000"


def _new_id() -> str:
    return str(uuid.uuid4())


class SimState:
    """The simulated CircleCI: users, projects, pipelines, workflows, jobs, artifacts and tests."""

    def __init__(self, page_size: int = 20) -> None:
        if page_size < 1:
            raise ValueError(f"page_size {page_size!r} is not a positive integer")
        self.page_size = page_size
        self.lock = threading.RLock()
        self.pages = PageTokens()
        self._users: dict[str, User] = {}  # by token
        self._projects: dict[str, Project] = {}  # by canonical slug
        self._pipelines: dict[str, Pipeline] = {}
        self._workflows: dict[str, Workflow] = {}
        self._jobs: dict[str, Job] = {}
        self._workflow_jobs: dict[str, list[str]] = {}
        self._pipeline_workflows: dict[str, list[str]] = {}
        self._artifacts: dict[tuple[str, int], list[Artifact]] = {}
        self._tests: dict[tuple[str, int], list[TestResult]] = {}
        self._listeners: list[Listener] = []
        self._log: list[RequestRecord] = []
        self._seq = 0

    # --- users and projects --------------------------------------------------------------------

    def add_token(self, token: str, *, login: str = "rehearsal", name: str = "Rehearsal User") -> User:
        """Register a personal API token and the user it belongs to."""
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise ValueError("a token must be a non-empty string without whitespace")
        with self.lock:
            user = User(id=_new_id(), login=login, name=name, token=token)
            self._users[token] = user
            return copy.copy(user)

    def user_for_token(self, token: Optional[str]) -> Optional[User]:
        with self.lock:
            user = self._users.get(token) if token else None
            return copy.copy(user) if user else None

    def add_project(
        self,
        slug: str,
        *,
        tokens: Optional[Iterable[str]] = None,
        config_path: Optional[str] = None,
        branches: Sequence[str] = ("main",),
        definition_id: Optional[str] = None,
    ) -> Project:
        """Add a project. ``tokens=None`` lets every known token use it."""
        ProjectSlug.parse(slug)  # raises BadInput on a malformed slug
        if definition_id is not None and not is_uuid(definition_id):
            raise ValueError(f"definition_id {definition_id!r} is not a UUID")
        project = Project(
            slug=slug,
            tokens=frozenset(tokens) if tokens is not None else None,
            config_path=str(config_path) if config_path is not None else None,
            branches=tuple(branches),
            definition_id=definition_id or _new_id(),
        )
        with self.lock:
            self._projects[_key(slug)] = project
            return copy.copy(project)

    def get_project(self, slug: str) -> Project:
        with self.lock:
            return copy.copy(self._project(slug))

    def projects(self) -> list[Project]:
        with self.lock:
            return [copy.copy(p) for p in self._projects.values()]

    def can_access(self, token: Optional[str], slug: str) -> bool:
        """True when ``token`` is known and may use the project ``slug`` (which must exist)."""
        with self.lock:
            project = self._projects.get(_key(slug))
            if project is None or not token or token not in self._users:
                return False
            return project.tokens is None or token in project.tokens

    # --- listeners and the request log ---------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(event)`` after each change, outside the lock, in the thread that made it."""
        with self.lock:
            self._listeners.append(fn)

    def _emit(self, event: SimEvent) -> None:
        with self.lock:
            listeners = list(self._listeners)
        for fn in listeners:
            fn(event)

    def record(self, entry: RequestRecord) -> None:
        with self.lock:
            self._log.append(entry)

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request served so far, oldest first (a copy)."""
        with self.lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self.lock:
            self._log.clear()

    # --- pipelines -----------------------------------------------------------------------------

    def create_pipeline(
        self,
        project_slug: str,
        *,
        branch: Optional[str] = None,
        tag: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        trigger_type: str = "api",
        state: str = "created",
        actor: Optional[User] = None,
        run_request: Optional[Mapping[str, Any]] = None,
    ) -> Pipeline:
        """Create a pipeline with no workflows (a driver adds them), as right after a trigger."""
        if branch is not None and tag is not None:
            raise ValueError("branch and tag are mutually exclusive")
        if state not in PIPELINE_STATES:
            raise ValueError(f"pipeline state {state!r} is not one of {', '.join(sorted(PIPELINE_STATES))}")
        with self.lock:
            project = self._project(project_slug)
            moment = now()
            pipeline = Pipeline(
                id=_new_id(),
                number=project.next_pipeline_number,
                project_slug=project.slug,
                state=state,
                created_at=moment,
                updated_at=moment,
                trigger_type=trigger_type,
                actor_id=actor.id if actor else self._default_actor_id(),
                actor_login=actor.login if actor else "rehearsal",
                branch=None if tag is not None else (branch or project.default_branch),
                tag=tag,
                revision=secrets.token_hex(20),
                parameters=dict(parameters or {}),
                run_request=dict(run_request or {}),
            )
            project.next_pipeline_number += 1
            self._pipelines[pipeline.id] = pipeline
            self._pipeline_workflows[pipeline.id] = []
            return copy.deepcopy(pipeline)

    def trigger_pipeline(self, project_slug: str, **kwargs: Any) -> Pipeline:
        """:meth:`create_pipeline`, then the ``pipeline_triggered`` event (what the HTTP API does)."""
        pipeline = self.create_pipeline(project_slug, **kwargs)
        self._emit(SimEvent("pipeline_triggered", pipeline.id, data={"project_slug": pipeline.project_slug}))
        return pipeline

    def set_pipeline_state(self, pipeline_id: str, state: str) -> Pipeline:
        if state not in PIPELINE_STATES:
            raise ValueError(f"pipeline state {state!r} is not one of {', '.join(sorted(PIPELINE_STATES))}")
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            pipeline.state = state
            pipeline.updated_at = now()
            return copy.deepcopy(pipeline)

    def mark_pipeline_errored(self, pipeline_id: str, errors: Iterable[tuple[str, str]]) -> Pipeline:
        """A broken config: the pipeline is ``errored`` with ``errors`` and runs no workflow."""
        checked = [(str(kind), str(message)) for kind, message in errors]
        for kind, _ in checked:
            if kind not in PIPELINE_ERROR_TYPES:
                raise ValueError(
                    f"pipeline error type {kind!r} is not one of {', '.join(sorted(PIPELINE_ERROR_TYPES))}"
                )
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            pipeline.state = "errored"
            pipeline.errors.extend(checked)
            pipeline.updated_at = now()
            return copy.deepcopy(pipeline)

    def get_pipeline(self, pipeline_id: str) -> Pipeline:
        with self.lock:
            return copy.deepcopy(self._get(self._pipelines, pipeline_id, "pipeline"))

    def pipelines_of(self, project_slug: str, *, branch: Optional[str] = None) -> list[Pipeline]:
        """The project's pipelines, newest first (the API's order)."""
        with self.lock:
            found = [
                p
                for p in self._pipelines.values()
                if same_project(p.project_slug, project_slug) and (branch is None or p.branch == branch)
            ]
            found.sort(key=lambda p: p.number, reverse=True)
            return copy.deepcopy(found)

    # --- workflows and jobs --------------------------------------------------------------------

    def add_workflow(self, pipeline_id: str, name: str) -> Workflow:
        """Add a workflow; its status is derived from the jobs added to it."""
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            self._seq += 1
            workflow = Workflow(
                id=_new_id(),
                name=name,
                pipeline_id=pipeline.id,
                pipeline_number=pipeline.number,
                project_slug=pipeline.project_slug,
                created_at=now(),
                started_by=pipeline.actor_id,
                seq=self._seq,
            )
            self._workflows[workflow.id] = workflow
            self._workflow_jobs[workflow.id] = []
            self._pipeline_workflows[pipeline.id].append(workflow.id)
            self._refresh(workflow)
            return copy.deepcopy(workflow)

    def add_job(
        self,
        workflow_id: str,
        name: str,
        *,
        type: str = "build",
        status: str = "blocked",
        requires: Optional[Mapping[str, Sequence[str]]] = None,
    ) -> Job:
        """Add a job. ``requires`` maps job ids of the same workflow to the statuses that satisfy them."""
        if type not in JOB_TYPES:
            raise ValueError(f"job type {type!r} is not one of {', '.join(sorted(JOB_TYPES))}")
        with self.lock:
            workflow = self._get(self._workflows, workflow_id, "workflow")
            needs = {str(k): list(v) for k, v in (requires or {}).items()}
            for dep, statuses in needs.items():
                if dep not in self._workflow_jobs[workflow.id]:
                    raise ValueError(f"required job {dep!r} is not a job of workflow {workflow_id}")
                bad = [s for s in statuses if s not in REQUIRES_STATUSES]
                if bad or not statuses:
                    raise ValueError(
                        f"requires[{dep!r}] = {statuses!r} (expected a non-empty list of "
                        f"{', '.join(sorted(REQUIRES_STATUSES))})"
                    )
            job = Job(
                id=_new_id(),
                name=name,
                type=type,
                status="blocked",
                workflow_id=workflow.id,
                project_slug=workflow.project_slug,
                dependencies=list(needs),
                requires=needs,
            )
            self._jobs[job.id] = job
            self._workflow_jobs[workflow.id].append(job.id)
            if status != "blocked":
                self._move(job, status)
            self._refresh(workflow)
            return copy.deepcopy(job)

    def set_job_status(self, job_id: str, status: str) -> Job:
        """Move a job; ``running`` assigns its number and start time, a terminal status its stop time."""
        with self.lock:
            job = self._get(self._jobs, job_id, "job")
            self._move(job, status)
            self._refresh(self._workflows[job.workflow_id])
            return copy.deepcopy(job)

    def _move(self, job: Job, status: str) -> None:
        if status == job.status:
            return
        derive.check_transition(job.type, job.status, status)
        moment = now()
        ran = status == "running" or (status in JOB_TERMINAL and status not in ("canceled", "not_run"))
        if job.type == "build" and ran and job.job_number is None:
            project = self._project(job.project_slug)
            job.job_number = project.next_job_number
            project.next_job_number += 1
        if job.started_at is None and (ran or status == "on_hold"):
            job.started_at = moment
        if status in JOB_TERMINAL:
            job.stopped_at = moment
        job.status = status

    def approve_job(self, workflow_id: str, approval_request_id: str, *, approver: Optional[str] = None) -> Job:
        """Approve an ``on_hold`` approval job of the workflow (raises ``ApprovalRefused`` otherwise)."""
        with self.lock:
            workflow = self._workflows.get(workflow_id)
            if workflow is None:
                raise KeyError(f"workflow {workflow_id!r} not found")
            if approval_request_id not in self._workflow_jobs[workflow.id]:
                raise ApprovalRefused(404, "Approval request not found")
            job = self._jobs[approval_request_id]
            # Invented answers (CircleCI's are undocumented): see docs/simulator.md.
            if job.type != "approval":
                raise ApprovalRefused(400, "Job is not an approval job.")
            if job.status == "success":
                raise ApprovalRefused(409, "Approval job has already been approved.")
            if job.status != "on_hold":
                raise ApprovalRefused(400, f"Approval job is not on hold (it is {job.status}).")
            self._move(job, "success")
            job.approved_by = approver or self._default_actor_id()
            self._refresh(workflow)
            snapshot = copy.deepcopy(job)
        self._emit(SimEvent("job_approved", workflow.pipeline_id, workflow.id, job.id))
        return snapshot

    def cancel_workflow(self, workflow_id: str, *, canceled_by: Optional[str] = None) -> Workflow:
        """Every non-terminal job becomes ``canceled``; so does the workflow."""
        with self.lock:
            workflow = self._get(self._workflows, workflow_id, "workflow")
            changed = False
            for job_id in self._workflow_jobs[workflow.id]:
                job = self._jobs[job_id]
                if job.status not in JOB_TERMINAL:
                    self._move(job, "canceled")
                    changed = True
            if changed or not self._workflow_jobs[workflow.id]:
                workflow.canceled_by = canceled_by or self._default_actor_id()
            self._refresh(workflow)
            snapshot = copy.deepcopy(workflow)
        if changed:
            self._emit(SimEvent("workflow_canceled", workflow.pipeline_id, workflow.id))
        return snapshot

    def mark_workflow_errored(self, workflow_id: str) -> Workflow:
        """The workflow could not run (status ``error``); pending jobs become ``not_run``."""
        with self.lock:
            workflow = self._get(self._workflows, workflow_id, "workflow")
            for job_id in self._workflow_jobs[workflow.id]:
                job = self._jobs[job_id]
                if job.status not in JOB_TERMINAL:
                    self._move(job, "not_run")
            workflow.errored = True
            workflow.errored_by = self._default_actor_id()
            self._refresh(workflow)
            return copy.deepcopy(workflow)

    def rerun_workflow(
        self, workflow_id: str, *, from_failed: bool = False, jobs: Optional[Sequence[str]] = None
    ) -> Workflow:
        """A new workflow (same name, same pipeline) whose rerun jobs start ``blocked``.

        Invented detail: jobs that are not rerun (passed jobs with ``from_failed``, jobs outside
        ``jobs`` and their dependents) are carried over with their status and job number.
        """
        with self.lock:
            old = self._get(self._workflows, workflow_id, "workflow")
            old_jobs = [self._jobs[j] for j in self._workflow_jobs[old.id]]
            rerun = _rerun_set(old_jobs, from_failed=from_failed, jobs=jobs)
            new = self.add_workflow(old.pipeline_id, old.name)
            fresh = self._workflows[new.id]
            fresh.rerun_of = old.id
            fresh.started_by = old.started_by
            id_map: dict[str, str] = {}
            for job in old_jobs:
                clone = Job(
                    id=_new_id(),
                    name=job.name,
                    type=job.type,
                    status="blocked",
                    workflow_id=fresh.id,
                    project_slug=job.project_slug,
                    dependencies=[id_map[d] for d in job.dependencies if d in id_map],
                    requires={id_map[d]: list(s) for d, s in job.requires.items() if d in id_map},
                )
                if job.id not in rerun:
                    clone.status = job.status
                    clone.job_number = job.job_number
                    clone.started_at, clone.stopped_at = job.started_at, job.stopped_at
                    clone.approved_by = job.approved_by
                id_map[job.id] = clone.id
                self._jobs[clone.id] = clone
                self._workflow_jobs[fresh.id].append(clone.id)
            self._refresh(fresh)
            snapshot = copy.deepcopy(fresh)
        self._emit(SimEvent("workflow_rerun", old.pipeline_id, old.id, data={"new_workflow_id": snapshot.id}))
        return snapshot

    def get_workflow(self, workflow_id: str) -> Workflow:
        with self.lock:
            return copy.deepcopy(self._get(self._workflows, workflow_id, "workflow"))

    def get_job(self, job_id: str) -> Job:
        with self.lock:
            return copy.deepcopy(self._get(self._jobs, job_id, "job"))

    def workflows_of(self, pipeline_id: str) -> list[Workflow]:
        """The pipeline's workflows, newest first (the API's order)."""
        with self.lock:
            self._get(self._pipelines, pipeline_id, "pipeline")
            found = [self._workflows[w] for w in self._pipeline_workflows[pipeline_id]]
            found.sort(key=lambda w: w.seq, reverse=True)
            return copy.deepcopy(found)

    def jobs_of(self, workflow_id: str) -> list[Job]:
        """The workflow's jobs in the order they were added."""
        with self.lock:
            self._get(self._workflows, workflow_id, "workflow")
            return copy.deepcopy([self._jobs[j] for j in self._workflow_jobs[workflow_id]])

    def workflow_status(self, workflow_id: str) -> str:
        with self.lock:
            return self._get(self._workflows, workflow_id, "workflow").status

    def find_job_by_number(self, project_slug: str, job_number: int) -> Optional[Job]:
        with self.lock:
            for job in self._jobs.values():
                if job.job_number == job_number and same_project(job.project_slug, project_slug):
                    return copy.deepcopy(job)
            return None

    # --- artifacts and test results ------------------------------------------------------------

    def add_artifact(
        self, project_slug: str, job_number: int, path: str, *, url: Optional[str] = None, node_index: int = 0
    ) -> Artifact:
        with self.lock:
            project = self._project(project_slug)
            link = url or (
                f"https://output.circle-artifacts.com/output/job/{project.slug}/{job_number}"
                f"/artifacts/{node_index}/{path}"
            )
            artifact = Artifact(path=path, url=link, node_index=node_index)
            self._artifacts.setdefault((_key(project.slug), int(job_number)), []).append(artifact)
            return copy.copy(artifact)

    def add_test_result(
        self,
        project_slug: str,
        job_number: int,
        *,
        name: str,
        classname: str,
        result: str,
        file: str = "",
        message: Optional[str] = None,
        run_time: float = 0.0,
        source: str = "",
    ) -> TestResult:
        with self.lock:
            project = self._project(project_slug)
            entry = TestResult(name, classname, result, file, message, float(run_time), source)
            self._tests.setdefault((_key(project.slug), int(job_number)), []).append(entry)
            return copy.copy(entry)

    def artifacts_of(self, project_slug: str, job_number: int) -> Optional[list[Artifact]]:
        """The job's artifacts; ``None`` when the project has no such job number."""
        return self._job_items(self._artifacts, project_slug, job_number)

    def tests_of(self, project_slug: str, job_number: int) -> Optional[list[TestResult]]:
        """The job's test results; ``None`` when the project has no such job number."""
        return self._job_items(self._tests, project_slug, job_number)

    def _job_items(self, table: dict[tuple[str, int], list[T]], slug: str, number: int) -> Optional[list[T]]:
        with self.lock:
            key = (_key(slug), number)
            if key in table:
                return copy.deepcopy(table[key])
            if self.find_job_by_number(slug, number) is not None:
                return []
            return None

    # --- internals -----------------------------------------------------------------------------

    def _project(self, slug: str) -> Project:
        project = self._projects.get(_key(slug))
        if project is None:
            raise KeyError(f"project {slug!r} not found")
        return project

    @staticmethod
    def _get(table: dict[str, T], key: str, what: str) -> T:
        try:
            return table[key]
        except (KeyError, TypeError):
            raise KeyError(f"{what} {key!r} not found") from None

    def _default_actor_id(self) -> str:
        first = next(iter(self._users.values()), None)
        return first.id if first else _SYSTEM_USER_ID

    def _refresh(self, workflow: Workflow) -> None:
        jobs = [self._jobs[j] for j in self._workflow_jobs[workflow.id]]
        workflow.status = derive.workflow_status(
            (j.status for j in jobs), canceled=workflow.canceled_by is not None, errored=workflow.errored
        )
        if workflow.status in ("running", "failing", "on_hold"):
            workflow.stopped_at = None
        elif workflow.stopped_at is None:
            stops = [j.stopped_at for j in jobs if j.stopped_at is not None]
            workflow.stopped_at = max(stops) if stops else now()


class ApprovalRefused(Exception):
    """The approval request cannot be honoured; carries the HTTP status and message to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _key(slug: str) -> str:
    provider, _, rest = slug.partition("/")
    aliases = {"github": "gh", "bitbucket": "bb"}
    return f"{aliases.get(provider.lower(), provider.lower())}/{rest.lower()}"


def _rerun_set(old_jobs: list[Job], *, from_failed: bool, jobs: Optional[Sequence[str]]) -> set[str]:
    """The ids of the jobs a rerun runs again: the chosen ones and everything downstream of them."""
    if from_failed and jobs is not None:
        raise ValueError("from_failed and jobs are mutually exclusive")
    if jobs is not None:
        known = {j.id for j in old_jobs}
        unknown = [j for j in jobs if j not in known]
        if unknown:
            raise ValueError(f"job {unknown[0]!r} is not a job of this workflow")
        seeds = set(jobs)
    elif from_failed:
        seeds = {j.id for j in old_jobs if j.status != "success"}
    else:
        return {j.id for j in old_jobs}
    chosen = set(seeds)
    for job in old_jobs:  # jobs are stored after the jobs they depend on
        if any(d in chosen for d in job.dependencies):
            chosen.add(job.id)
    return chosen
