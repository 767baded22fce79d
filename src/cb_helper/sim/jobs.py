"""Workflows and jobs: adding them, moving jobs through their statuses, approving, canceling, rerunning.

A workflow's status is never set directly; it is derived from its jobs after every change
(:func:`cb_helper.sim.derive.workflow_status`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Optional

from cb_helper.api.vocabulary import JOB_TERMINAL, JOB_TYPES, REQUIRES_STATUSES
from cb_helper.sim import derive
from cb_helper.sim.model import Job, SimEvent, Workflow, now
from cb_helper.sim.store import Store, new_id


class ApprovalRefused(ValueError):
    """The approval request cannot be honoured; carries the HTTP status and message to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WorkflowMoves(Store):
    """The workflow and job half of :class:`~cb_helper.sim.state.SimState`."""

    def add_workflow(self, pipeline_id: str, name: str) -> Workflow:
        """Add a workflow; its status is derived from the jobs added to it."""
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            self._seq += 1
            workflow = Workflow(
                id=new_id(),
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
                id=new_id(),
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
        # Invented: an approval job "starts" when it goes on hold (its 90-day window opens then).
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
            self._effect("approve", workflow.id, job.id, job.approved_by)
            self._refresh(workflow)
            snapshot = copy.deepcopy(job)
        self._emit(SimEvent("job_approved", workflow.pipeline_id, workflow.id, job.id))
        return snapshot

    def cancel_workflow(self, workflow_id: str, *, canceled_by: Optional[str] = None) -> Workflow:
        """Every non-terminal job becomes ``canceled`` (with ``canceled_by``); so does the workflow."""
        with self.lock:
            workflow = self._get(self._workflows, workflow_id, "workflow")
            who = canceled_by or self._default_actor_id()
            changed = False
            for job_id in self._workflow_jobs[workflow.id]:
                job = self._jobs[job_id]
                if job.status not in JOB_TERMINAL:
                    self._move(job, "canceled")
                    job.canceled_by = who
                    changed = True
            if not self._workflow_jobs[workflow.id] and workflow.canceled_by is None:
                changed = True  # a workflow with no jobs yet is canceled as such
            if changed:
                workflow.canceled_by = who
                self._effect("cancel", workflow.id, None, who)
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
        self,
        workflow_id: str,
        *,
        from_failed: bool = False,
        jobs: Optional[Sequence[str]] = None,
        sparse_tree: bool = False,
    ) -> Workflow:
        """A new workflow (same name, same pipeline) whose rerun jobs start ``blocked``.

        Invented detail: jobs that are not rerun (passed jobs with ``from_failed``, jobs outside
        ``jobs`` and their dependents) are carried over with their status and job number. With
        ``sparse_tree`` (only with ``jobs``), the parts of the workflow not connected to the chosen jobs
        are left out of the new workflow instead.
        """
        if sparse_tree and jobs is None:
            raise ValueError("sparse_tree needs jobs")
        with self.lock:
            old = self._get(self._workflows, workflow_id, "workflow")
            old_jobs = [self._jobs[j] for j in self._workflow_jobs[old.id]]
            rerun = _rerun_set(old_jobs, from_failed=from_failed, jobs=jobs)
            if sparse_tree:
                kept = _connected(old_jobs, set(jobs or ()))
                old_jobs = [job for job in old_jobs if job.id in kept]
            new = self.add_workflow(old.pipeline_id, old.name)
            fresh = self._workflows[new.id]
            fresh.rerun_of = old.id
            fresh.started_by = old.started_by
            id_map: dict[str, str] = {}
            for job in old_jobs:
                clone = Job(
                    id=new_id(),
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
                    clone.approved_by, clone.canceled_by = job.approved_by, job.canceled_by
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
        """The pipeline's workflows, newest first (invented: CircleCI does not document the order)."""
        with self.lock:
            self._get(self._pipelines, pipeline_id, "pipeline")
            found = [self._workflows[w] for w in self._pipeline_workflows[pipeline_id]]
            found.sort(key=lambda w: w.seq, reverse=True)
            return copy.deepcopy(found)

    def jobs_of(self, workflow_id: str) -> list[Job]:
        """The workflow's jobs in the order they were added."""
        return self.jobs_page(workflow_id, 0, None)[0]

    def jobs_page(self, workflow_id: str, offset: int, limit: Optional[int]) -> tuple[list[Job], int]:
        """At most ``limit`` of the workflow's jobs from ``offset`` on (copies), and how many it has."""
        with self.lock:
            self._get(self._workflows, workflow_id, "workflow")
            ids = self._workflow_jobs[workflow_id]
            chosen = ids[offset:] if limit is None else ids[offset : offset + limit]
            return [_snapshot(self._jobs[j]) for j in chosen], len(ids)

    def workflow_status(self, workflow_id: str) -> str:
        with self.lock:
            return self._get(self._workflows, workflow_id, "workflow").status

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


def _snapshot(job: Job) -> Job:
    """A copy of ``job`` that shares nothing mutable with it (much cheaper than ``copy.deepcopy``).

    Every field of :class:`Job` is immutable except these two containers.
    """
    clone = copy.copy(job)
    clone.dependencies = list(job.dependencies)
    clone.requires = {dep: list(statuses) for dep, statuses in job.requires.items()}
    return clone


def _connected(jobs: list[Job], seeds: set[str]) -> set[str]:
    """The ids of the jobs in the same connected part of the workflow's graph as ``seeds``."""
    neighbours: dict[str, set[str]] = {job.id: set() for job in jobs}
    for job in jobs:
        for dep in job.dependencies:
            if dep in neighbours:
                neighbours[job.id].add(dep)
                neighbours[dep].add(job.id)
    found, todo = set(seeds), list(seeds)
    while todo:
        for other in neighbours.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


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
