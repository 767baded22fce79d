"""All of the simulator's state: plain records guarded by one lock, and the moves tests make on them.

Every public method takes the lock, changes records, recomputes derived statuses, releases the lock
and only then tells listeners. Everything returned is a copy, safe to read without the lock.
Users, projects, pipelines, listeners and the request log live here; workflows and jobs in
:mod:`cb_helper.sim.jobs`; artifacts and test results in :mod:`cb_helper.sim.outputs`.
"""

from __future__ import annotations

import copy
import datetime as _dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from cb_helper.api.vocabulary import PIPELINE_ERROR_TYPES, PIPELINE_STATES, ProjectSlug, is_uuid, same_project, slug_key
from cb_helper.sim.continuation import ContinuationRefused, Continuations
from cb_helper.sim.effects import Effect, select
from cb_helper.sim.jobs import ApprovalRefused, WorkflowMoves
from cb_helper.sim.model import Pipeline, Project, RequestRecord, SimEvent, User, now
from cb_helper.sim.outputs import JobOutputs
from cb_helper.sim.store import Listener, new_id

__all__ = ["ApprovalRefused", "ContinuationRefused", "SimState"]


class SimState(WorkflowMoves, JobOutputs, Continuations):
    """The simulated CircleCI: users, projects, pipelines, workflows, jobs, artifacts and tests."""

    # --- users and projects --------------------------------------------------------------------

    def add_token(self, token: str, *, login: str = "rehearsal", name: str = "Rehearsal User") -> User:
        """Register a personal API token and the user it belongs to."""
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise ValueError("a token must be a non-empty string without whitespace")
        with self.lock:
            user = User(id=new_id(), login=login, name=name, token=token)
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
        ci_skip_branches: Sequence[str] = (),
        auto_cancel: bool = False,
    ) -> Project:
        """Add a project. ``tokens=None`` lets every known token use it.

        ``ci_skip_branches``: branches whose head commit carries a CI-skip marker, so that
        ``/pipeline/run`` answers 200 "not triggered" for them, as CircleCI does. ``auto_cancel``: the project
        setting "Auto-cancel redundant workflows" (see :meth:`trigger_pipeline`).
        """
        ProjectSlug.parse(slug)  # raises BadInput on a malformed slug
        if definition_id is not None and not is_uuid(definition_id):
            raise ValueError(f"definition_id {definition_id!r} is not a UUID")
        project = Project(
            slug=slug,
            tokens=frozenset(tokens) if tokens is not None else None,
            config_path=str(config_path) if config_path is not None else None,
            branches=tuple(branches),
            definition_id=definition_id or new_id(),
            ci_skip_branches=tuple(ci_skip_branches),
            auto_cancel=auto_cancel,
        )
        with self.lock:
            self._projects[slug_key(slug)] = project
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
            project = self._projects.get(slug_key(slug))
            if project is None or not token or token not in self._users:
                return False
            return project.tokens is None or token in project.tokens

    # --- listeners and the request log ---------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(event)`` after each change, outside the lock, in the thread that made it."""
        with self.lock:
            self._listeners.append(fn)

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

    # --- effects -------------------------------------------------------------------------------

    def effects(
        self, kind: Optional[str] = None, *, workflow_id: Optional[str] = None, job_id: Optional[str] = None
    ) -> list[Effect]:
        """The actions that changed something, oldest first, optionally filtered.

        ``kind`` is ``"approve"`` (an approval job went from ``on_hold`` to ``success``) or ``"cancel"``
        (a cancel turned a workflow ``canceled``; ``job_id`` is ``None``). Requests that found the work
        done (a second approval, a cancel of a finished workflow) leave no record.
        """
        with self.lock:
            return select(self._effects, kind, workflow_id, job_id)

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
        schedule_name: Optional[str] = None,
    ) -> Pipeline:
        """Create a pipeline with no workflows (a driver adds them), as right after a trigger.

        ``trigger_type="scheduled_pipeline"`` with ``schedule_name``: a pipeline a schedule started.
        """
        if branch is not None and tag is not None:
            raise ValueError("branch and tag are mutually exclusive")
        if state not in PIPELINE_STATES:
            raise ValueError(f"pipeline state {state!r} is not one of {', '.join(sorted(PIPELINE_STATES))}")
        with self.lock:
            project = self._project(project_slug)
            moment = now()
            pipeline = Pipeline(
                id=new_id(),
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
                schedule_name=schedule_name,
            )
            project.next_pipeline_number += 1
            self._pipelines[pipeline.id] = pipeline
            self._pipeline_workflows[pipeline.id] = []
            return copy.deepcopy(pipeline)

    def trigger_pipeline(self, project_slug: str, **kwargs: Any) -> Pipeline:
        """:meth:`create_pipeline`, then the ``pipeline_triggered`` event (what the HTTP API does).

        With the project's ``auto_cancel`` on and the pipeline on a branch other than the default branch, the
        workflows of the branch's earlier pipelines that have not finished are canceled first (on hold included),
        as CircleCI's "Auto-cancel redundant workflows" does for every new pipeline, API-triggered ones included.
        """
        pipeline = self.create_pipeline(project_slug, **kwargs)
        self.cancel_redundant(pipeline.id)
        self._emit(SimEvent("pipeline_triggered", pipeline.id, data={"project_slug": pipeline.project_slug}))
        return pipeline

    def cancel_redundant(self, pipeline_id: str) -> list[str]:
        """Auto-cancel for the new pipeline ``pipeline_id``; returns the ids of the workflows it canceled."""
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            project = self._project(pipeline.project_slug)
            if not project.auto_cancel or pipeline.branch is None or pipeline.branch == project.default_branch:
                return []
            older = [
                workflow_id
                for other in self._pipelines.values()
                if other.project_slug == pipeline.project_slug
                and other.branch == pipeline.branch
                and other.number < pipeline.number
                for workflow_id in self._pipeline_workflows[other.id]
                if self._workflows[workflow_id].status in ("running", "on_hold", "failing")
            ]
        for workflow_id in older:
            self.cancel_workflow(workflow_id)
        return older

    def set_pipeline_state(self, pipeline_id: str, state: str) -> Pipeline:
        if state not in PIPELINE_STATES:
            raise ValueError(f"pipeline state {state!r} is not one of {', '.join(sorted(PIPELINE_STATES))}")
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            pipeline.state = state
            pipeline.updated_at = now()
            return copy.deepcopy(pipeline)

    def backdate_pipeline(self, pipeline_id: str, seconds: float) -> Pipeline:
        """Move a pipeline's creation ``seconds`` into the past, as if it had been triggered that long ago."""
        if seconds < 0:
            raise ValueError(f"seconds {seconds!r} is not a number >= 0")
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            pipeline.created_at -= _dt.timedelta(seconds=seconds)
            pipeline.updated_at = min(pipeline.updated_at, pipeline.created_at)
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
        return self.pipelines_page(project_slug, 0, None, branch=branch)[0]

    def pipelines_page(
        self, project_slug: str, offset: int, limit: Optional[int], *, branch: Optional[str] = None
    ) -> tuple[list[Pipeline], int]:
        """At most ``limit`` of :meth:`pipelines_of` from ``offset`` on (copies), and how many there are."""
        with self.lock:
            found = [
                p
                for p in self._pipelines.values()
                if same_project(p.project_slug, project_slug) and (branch is None or p.branch == branch)
            ]
            found.sort(key=lambda p: p.number, reverse=True)
            chosen = found[offset:] if limit is None else found[offset : offset + limit]
            return [_snapshot(p) for p in chosen], len(found)


def _snapshot(pipeline: Pipeline) -> Pipeline:
    """A copy of ``pipeline`` sharing nothing mutable with it, cheaper than ``copy.deepcopy`` of the whole."""
    clone = copy.copy(pipeline)
    clone.parameters = copy.deepcopy(pipeline.parameters)
    clone.errors = list(pipeline.errors)
    clone.run_request = copy.deepcopy(pipeline.run_request)
    return clone
