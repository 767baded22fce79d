"""Moving a workflow's jobs through their statuses in the simulator, and running build jobs in threads.

Every method is called from the scheduler thread; worker threads only run steps and report back.
"""

from __future__ import annotations

import shutil
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from cb_helper.api.vocabulary import JOB_FAILED, JOB_TERMINAL, WORKFLOW_TERMINAL
from cb_helper.rehearse.execution import JobOutcome, JobSetup, StepResult, run_job
from cb_helper.rehearse.files import WRITE_LOCK, TestCase, Workspace
from cb_helper.rehearse.jobenv import build_environment, circleci_variables
from cb_helper.rehearse.pipelines import JobRun, PipelineRun, WorkflowRun
from cb_helper.rehearse.plan import JobPlan, WorkflowPlan
from cb_helper.rehearse.spec import ProjectSpec
from cb_helper.rehearse.timeline import Event
from cb_helper.sim import SimState

if TYPE_CHECKING:
    from cb_helper.sim.model import Pipeline

Done = Callable[[str, str, JobOutcome], None]


def requirement_status(status: str) -> str:
    """A finished job's status in the vocabulary of ``requires`` (success, failed, canceled, not_run)."""
    if status in JOB_FAILED:
        return "failed"
    return status


class JobRunner:
    """Creates workflows' jobs in the simulator, starts them when their requirements allow, records it all."""

    def __init__(
        self,
        *,
        state: SimState,
        root: Path,
        specs: Mapping[str, ProjectSpec],
        contexts: Mapping[str, Mapping[str, str]],
        project_env: Mapping[str, str],
        rehearsal_env: Mapping[str, str],
        max_parallel: int,
        clock: Callable[[], float],
        record: Callable[[Event], None],
        done: Done,
    ) -> None:
        self.state = state
        self.root = root
        self.specs = specs
        self.contexts = contexts
        self.project_env = dict(project_env)
        self.rehearsal_env = dict(rehearsal_env)
        self.max_parallel = max(1, max_parallel)
        self.clock = clock
        self.record = record
        self.done = done
        self.secrets = tuple(
            {value for name, value in self.rehearsal_env.items() if name != "CIRCLECI_HOST"}
            | set(self.project_env.values())
            | {value for context in contexts.values() for value in context.values()}
        )
        self._active: dict[str, tuple[WorkflowRun, JobRun]] = {}
        self._pipelines: dict[str, Pipeline] = {}

    # --- creating workflows --------------------------------------------------------------------

    def create(
        self, pipeline: PipelineRun, workflow_id: str, plan: WorkflowPlan, info: Pipeline, *, setup: bool = False
    ) -> WorkflowRun:
        """Add the workflow's jobs to the simulator (all at once, blocked, as CircleCI lists them)."""
        self._pipelines[pipeline.id] = info
        run = WorkflowRun(workflow_id, plan, pipeline, Workspace(self.root / "workspaces" / workflow_id), setup=setup)
        for job_plan in plan.jobs:
            requires = {run.jobs[name].id: sorted(statuses) for name, statuses in job_plan.requires}
            job = self.state.add_job(
                workflow_id, job_plan.name, type="approval" if job_plan.approval else "build", requires=requires
            )
            run.jobs[job_plan.name] = JobRun(job_plan, job.id, job.status)
        self._event(run, "workflow_created", None, f"{len(plan.jobs)} job(s)")
        return run

    def adopt(self, old: WorkflowRun, new_id: str) -> WorkflowRun:
        """A rerun the simulator created: carried-over jobs keep their results, the others run again."""
        run = WorkflowRun(new_id, old.plan, old.pipeline, Workspace(self.root / "workspaces" / new_id), setup=old.setup)
        if old.workspace.root.is_dir():
            with WRITE_LOCK:
                shutil.copytree(old.workspace.root, run.workspace.root, dirs_exist_ok=True)
        for job in self.state.jobs_of(new_id):
            previous = old.jobs[job.name]
            local = JobRun(previous.plan, job.id, job.status, job.job_number)
            if job.status in JOB_TERMINAL:
                local.started, local.stopped, local.steps = previous.started, previous.stopped, previous.steps
                run.finished.append(job.name)
            run.jobs[job.name] = local
        self._event(run, "workflow_rerun", None, f"rerun of {old.id}")
        return run

    # --- scheduling ----------------------------------------------------------------------------

    def advance(self, workflow: WorkflowRun) -> None:
        """Start (or hold, or skip) every job whose requirements are now decided."""
        for job in workflow.jobs.values():
            if job.thread is not None and not job.cancel.is_set():
                if self.state.get_job(job.id).status in JOB_TERMINAL:
                    job.cancel.set()  # canceled by someone else while running: stop its steps
                continue
            if job.status not in ("blocked", "queued"):
                continue
            required = [(workflow.jobs[name], allowed) for name, allowed in job.plan.requires]
            if any(dep.status not in JOB_TERMINAL for dep, _ in required):
                continue
            if all(requirement_status(dep.status) in allowed for dep, allowed in required):
                self._start(workflow, job)
            elif self._move(job, "not_run"):
                job.stopped = self.clock()
                self._event(workflow, "job_not_run", job, "requirements not met")
        if not workflow.reported:
            status = self.state.workflow_status(workflow.id)
            if status in WORKFLOW_TERMINAL and not any(j.thread for j in workflow.jobs.values()):
                workflow.reported = True
                self._event(workflow, "workflow_finished", None, status)

    def busy(self) -> bool:
        return bool(self._active)

    def active_names(self) -> list[str]:
        return [f"{w.pipeline.project} #{w.pipeline.number} {w.name}/{j.plan.name}" for w, j in self._active.values()]

    def _move(self, job: JobRun, status: str) -> bool:
        """Set a job's status in the simulator; False when it already finished (e.g. was canceled)."""
        try:
            moved = self.state.set_job_status(job.id, status)
        except ValueError:
            job.status = self.state.get_job(job.id).status
            return False
        job.status = moved.status
        job.number = moved.job_number
        return True

    def _start(self, workflow: WorkflowRun, job: JobRun) -> None:
        if job.plan.approval:
            if self._move(job, "on_hold"):
                job.started = self.clock()
                self._event(workflow, "hold_started", job, "waiting for approval")
            return
        if len(self._active) >= self.max_parallel:
            if job.status != "queued" and self._move(job, "queued"):
                self._event(workflow, "job_queued", job)
            return
        if not self._move(job, "running"):
            return
        job.started = self.clock()
        self._event(workflow, "job_started", job, f"job #{job.number}")
        setup = self._setup(workflow, job)
        job.thread = threading.Thread(target=self._work, args=(workflow, job, setup), daemon=True)
        self._active[job.id] = (workflow, job)
        job.thread.start()

    def _work(self, workflow: WorkflowRun, job: JobRun, setup: JobSetup) -> None:
        assert job.plan.job is not None
        try:
            outcome = run_job(job.plan.job, setup)
        except Exception:  # a runner bug must fail the job, not hang the rehearsal
            outcome = JobOutcome(
                "failed", [StepResult(0, "rehearsal runner", "internal", "failed", None, traceback.format_exc())]
            )
        self.done(workflow.id, job.plan.name, outcome)

    def finished(self, workflow: Optional[WorkflowRun], name: str, outcome: JobOutcome) -> None:
        """A worker finished: record its steps and move the job to its final status."""
        if workflow is None:
            return
        job = workflow.jobs[name]
        self._active.pop(job.id, None)
        job.thread = None
        job.steps = outcome.steps
        job.stopped = self.clock()
        if not self._move(job, outcome.status):
            outcome = JobOutcome(job.status, outcome.steps)
        workflow.finished.append(name)
        failed = [s.name for s in outcome.steps if s.status == "failed"]
        detail = outcome.status + (f" (failed step: {failed[0]})" if failed else "")
        self._event(workflow, "job_finished", job, detail)

    def approved(self, workflow: WorkflowRun, job_id: str) -> None:
        for job in workflow.jobs.values():
            if job.id == job_id:
                job.status = self.state.get_job(job_id).status
                job.stopped = self.clock()
                workflow.finished.append(job.plan.name)
                self._event(workflow, "hold_approved", job, "approved through the API")

    def canceled(self, workflow: WorkflowRun) -> None:
        """The workflow was canceled through the API: stop its running jobs."""
        for job in workflow.jobs.values():
            current = self.state.get_job(job.id).status
            if job.thread is not None:
                job.cancel.set()
            elif current != job.status:
                job.status = current
                job.stopped = job.stopped if job.stopped is not None else self.clock()
        self._event(workflow, "workflow_canceled", None, "canceled through the API")

    def cancel_all(self) -> None:
        for _, job in self._active.values():
            job.cancel.set()

    def join(self, timeout: float) -> None:
        for _, job in list(self._active.values()):
            if job.thread is not None:
                job.thread.join(timeout)

    # --- one job's setup -----------------------------------------------------------------------

    def _setup(self, workflow: WorkflowRun, job: JobRun) -> JobSetup:
        assert job.plan.job is not None
        pipeline = self._pipelines[workflow.pipeline.id]
        home = self.root / "jobs" / f"{job.number}-{job.id[:8]}"
        builtins = circleci_variables(
            project_slug=pipeline.project_slug,
            branch=pipeline.branch,
            tag=pipeline.tag,
            revision=pipeline.revision,
            pipeline_id=pipeline.id,
            workflow_id=workflow.id,
            job_id=job.id,
            job_number=job.number,
            job_name=job.plan.name,
            working_directory=job.plan.job.working_directory,
            host=str(self.rehearsal_env.get("CIRCLECI_HOST", "")),
        )
        if workflow.setup and pipeline.continuation_key is not None:
            builtins["CIRCLE_CONTINUATION_KEY"] = pipeline.continuation_key
        env = build_environment(
            home=home,
            builtins=builtins,
            project_env=self.project_env,
            contexts=[self.contexts[name] for name in job.plan.contexts],
            rehearsal=self.rehearsal_env,
            job=job.plan.job.environment,
        )
        ancestors = _ancestors(workflow.plan, job.plan)
        slug, number = pipeline.project_slug, job.number or 0
        spec = self.specs.get(slug)

        def artifact(path: str, file: Path) -> None:
            # Job numbers count per project: A's job 1 and B's job 1 are different jobs.
            target = self.root / "artifacts" / Path(*slug.split("/")) / str(number) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with WRITE_LOCK:
                shutil.copy2(file, target)
            self.state.add_artifact(slug, number, path, content=target)  # served by the simulator

        def test_case(case: TestCase) -> None:
            self.state.add_test_result(
                slug,
                number,
                name=case.name,
                classname=case.classname,
                result=case.result,
                file=case.file,
                message=case.message,
                run_time=case.run_time,
            )

        def on_step(result: StepResult) -> None:
            self._event(workflow, "step_finished", job, f"{result.name}: {result.status}")

        return JobSetup(
            job_name=job.plan.name,
            home=home,
            environment=env,
            project_dir=spec.source if spec is not None else None,
            workspace=workflow.workspace,
            workspace_layers=lambda: [name for name in list(workflow.finished) if name in ancestors],
            artifact=artifact,
            test_case=test_case,
            cancel=job.cancel,
            secrets=self.secrets,
            on_step=on_step,
        )

    def _event(self, workflow: WorkflowRun, kind: str, job: Optional[JobRun], detail: str = "") -> None:
        self.record(
            Event(
                self.clock(),
                kind,
                workflow.pipeline.project,
                workflow.pipeline.number,
                workflow.name,
                job.plan.name if job is not None else None,
                detail,
            )
        )


def _ancestors(plan: WorkflowPlan, job: JobPlan) -> set[str]:
    found: set[str] = set()
    pending = [name for name, _ in job.requires]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(required for required, _ in plan.job(name).requires)
    return found
