"""The rehearsal engine: runs projects' configs against the simulator, mirroring every state change.

One scheduler (the thread calling :meth:`Rehearsal.run_until_settled`) owns all scheduling state. It
reacts to the simulator's events (a trigger through the API starts that project's config; an approval
lets its workflow continue; a cancel stops its jobs; a rerun runs the new workflow) and to jobs finishing
in their worker threads.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from cb_helper.api.errors import BadInput
from cb_helper.api.vocabulary import JOB_TERMINAL, ProjectSlug
from cb_helper.rehearse.errors import ConfigError, ConfigFetchError
from cb_helper.rehearse.pipelines import PipelineRun, Planner, WorkflowRun
from cb_helper.rehearse.plan import PipelinePlan
from cb_helper.rehearse.project import OrbSource
from cb_helper.rehearse.runs import JobRunner
from cb_helper.rehearse.spec import ProjectSpec
from cb_helper.rehearse.timeline import Event, RehearsalResult
from cb_helper.sim import SimEvent, SimServer, SimState

if TYPE_CHECKING:
    from cb_helper.sim.model import Pipeline

__all__ = ["ProjectInput", "ProjectSpec", "Rehearsal"]

ProjectInput = Union[ProjectSpec, Path, str]

#: How long a run whose only work left is approval holds stays quiet before it is called stuck: an approval or
#: cancel made through the API by a process outside the runner (a sweep, a person) lands in that time.
STUCK_QUIET = 0.5

#: The schedule a rehearsal started as a schedule would is named (``pipeline.trigger.name``).
SCHEDULE_NAME = "rehearsal schedule"


class Rehearsal:
    """Rehearse the circleback (or any set of CircleCI configs) on this machine.

    Example::

        with Rehearsal({"gh/acme/a": "a/.circleci/config.yml", "gh/acme/b": "b/.circleci/config.yml"},
                       orbs={"circleback": "dist/orb.yml"}) as rehearsal:
            rehearsal.start("gh/acme/a", branch="main")
            result = rehearsal.run_until_settled(timeout=120)
    """

    def __init__(
        self,
        projects: Mapping[str, ProjectInput],
        *,
        orbs: Optional[Mapping[str, OrbSource]] = None,
        contexts: Optional[Mapping[str, Mapping[str, str]]] = None,
        project_env: Optional[Mapping[str, str]] = None,
        token_env: Sequence[str] = ("CIRCLE_TOKEN",),
        server: Optional[SimServer] = None,
        page_size: int = 20,
        workdir: Optional[Path] = None,
        keep_workdir: bool = False,
        max_parallel: int = 4,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> None:
        if not projects:
            raise BadInput("no projects given (expected at least one SLUG=CONFIG)")
        specs = {slug: _spec(slug, value) for slug, value in projects.items()}
        self._own_server = server is None
        self.server = server or SimServer(SimState(page_size=page_size))
        if self._own_server:
            self.server.start()
        self.state: SimState = self.server.state
        for slug, spec in specs.items():
            self.state.add_project(
                slug, config_path=str(spec.config), branches=spec.branches, auto_cancel=spec.auto_cancel
            )
        self._root = Path(tempfile.mkdtemp(prefix="cb-rehearse-", dir=workdir))
        self._keep = keep_workdir
        self._clock = time.monotonic()
        self._timeline: list[Event] = []
        self._timeline_lock = threading.Lock()
        self._on_event = on_event
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._closed = False
        self.planner = Planner(specs, orbs or {}, contexts or {}, tmp_root=self._root / "tmp")
        self.runner = JobRunner(
            state=self.state,
            root=self._root,
            specs=specs,
            contexts=contexts or {},
            project_env=project_env or {},
            rehearsal_env={"CIRCLECI_HOST": self.server.url, **dict.fromkeys(token_env, self.server.token)},
            max_parallel=max_parallel,
            clock=self.clock,
            record=self.record,
            done=lambda workflow, name, outcome: self._queue.put(("job_done", (workflow, name, outcome))),
        )
        self.pipelines: dict[str, PipelineRun] = {}
        self.state.continuation_check = self._check_continuation
        self.state.add_listener(self._on_sim_event)

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        """Where jobs' homes, workspaces and artifacts live (removed on close unless kept)."""
        return self._root

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(
        self, kind: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop running jobs, the simulator (when the rehearsal started it) and remove the work directory."""
        if self._closed:
            return
        self._closed = True
        self.runner.cancel_all()
        self.runner.join(timeout=10)
        if self._own_server:
            self.server.stop()
        if not self._keep:
            shutil.rmtree(self._root, ignore_errors=True)

    def clock(self) -> float:
        return time.monotonic() - self._clock

    def record(self, event: Event) -> None:
        with self._timeline_lock:
            self._timeline.append(event)
        if self._on_event is not None:
            self._on_event(event)

    # --- driving -------------------------------------------------------------------------------

    def start(
        self,
        project: str,
        branch: Optional[str] = "main",
        parameters: Optional[Mapping[str, Any]] = None,
        *,
        tag: Optional[str] = None,
        trigger_type: str = "webhook",
    ) -> str:
        """Start a pipeline of ``project`` (as a push would); returns its id.

        ``trigger_type``: ``webhook`` (a push), ``api``, or ``schedule`` (as a scheduled pipeline starts: the API
        shows ``scheduled_pipeline``, ``pipeline.trigger.type`` is ``schedule``). A config that cannot compile
        raises :class:`ConfigError` before anything is created.
        """
        schedule = SCHEDULE_NAME if trigger_type in ("schedule", "scheduled_pipeline") else None
        if schedule is not None:
            trigger_type = "scheduled_pipeline"
        if tag is not None:
            branch = None
        self.planner.spec(project)  # unknown project: BadInput
        allowed = self.state.get_project(project).branches
        if branch is not None and branch not in allowed:
            raise BadInput(f"branch {branch!r} is not a branch of {project} (expected one of {', '.join(allowed)})")
        self.planner.dry_run(
            project, branch=branch, tag=tag, parameters=dict(parameters or {}), trigger_type=trigger_type
        )
        pipeline = self.state.create_pipeline(
            project,
            branch=branch,
            tag=tag,
            parameters=dict(parameters or {}),
            trigger_type=trigger_type,
            schedule_name=schedule,
        )
        self.state.cancel_redundant(pipeline.id)  # a push, too, auto-cancels when the project says so
        self._launch(pipeline.id)
        return pipeline.id

    def run_until_settled(self, timeout: float = 120.0) -> RehearsalResult:
        """Run until every pipeline is finished, only approval holds wait, or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        outcome = "timeout"
        quiet_since: Optional[float] = None
        while True:
            self._advance_all()
            idle = self._queue.empty() and not self.runner.busy()
            if idle and not self._holds():
                outcome = "settled"
                break
            if idle:
                quiet_since = time.monotonic() if quiet_since is None else quiet_since
                if time.monotonic() - quiet_since >= STUCK_QUIET:
                    outcome = "stuck"
                    break
            else:
                quiet_since = None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                kind, payload = self._queue.get(timeout=min(remaining, 0.1 if idle else 0.5))
            except queue.Empty:
                continue
            self._handle(kind, payload)
            while True:  # drain whatever else arrived before scheduling again
                try:
                    kind, payload = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._handle(kind, payload)
        waiting = self._holds() if outcome == "stuck" else self.runner.active_names() if outcome == "timeout" else []
        if outcome == "stuck":
            for name in waiting:
                self.record(Event(self.clock(), "stuck", name.split(" ", 1)[0], detail=f"{name} waits for approval"))
        return self.result(outcome, waiting)

    def run_until(self, stop: threading.Event) -> None:
        """Keep launching triggered pipelines and driving their jobs until ``stop`` is set (a served playground)."""
        while not stop.is_set():
            self._advance_all()
            try:
                kind, payload = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._handle(kind, payload)

    def result(self, outcome: str = "settled", waiting: Optional[list[str]] = None) -> RehearsalResult:
        """A snapshot of every pipeline as the simulator shows it now."""
        with self._timeline_lock:
            timeline = list(self._timeline)
        pipelines = [run.snapshot(self.state, self.runner) for run in self.pipelines.values()]
        return RehearsalResult(outcome, self.clock(), pipelines, timeline, waiting or [])

    # --- events --------------------------------------------------------------------------------

    def _on_sim_event(self, event: SimEvent) -> None:
        if not self._closed:
            self._queue.put(("sim", event))

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "job_done":
            workflow_id, name, outcome = payload
            self.runner.finished(self._workflow(workflow_id), name, outcome)
            return
        event: SimEvent = payload
        if event.kind == "pipeline_triggered" and event.pipeline_id not in self.pipelines:
            self._launch(event.pipeline_id)
        elif event.kind == "job_approved" and event.workflow_id and event.job_id:
            workflow = self._workflow(event.workflow_id)
            if workflow is not None:
                self.runner.approved(workflow, event.job_id)
        elif event.kind == "workflow_canceled" and event.workflow_id:
            workflow = self._workflow(event.workflow_id)
            if workflow is not None:
                self.runner.canceled(workflow)
        elif event.kind == "pipeline_continued" and event.pipeline_id in self.pipelines:
            self._continue(event.pipeline_id, str(event.data["configuration"]), dict(event.data["parameters"]))
        elif event.kind == "workflow_rerun" and event.workflow_id:
            old = self._workflow(event.workflow_id)
            if old is not None:
                self._rerun(old, str(event.data["new_workflow_id"]))

    def _workflow(self, workflow_id: str) -> Optional[WorkflowRun]:
        for pipeline in self.pipelines.values():
            for workflow in pipeline.workflows:
                if workflow.id == workflow_id:
                    return workflow
        return None

    def _launch(self, pipeline_id: str) -> None:
        pipeline = self.state.get_pipeline(pipeline_id)
        run = PipelineRun(pipeline.id, pipeline.number, pipeline.project_slug)
        self.pipelines[pipeline.id] = run
        where = f"{pipeline.project_slug} #{pipeline.number}"
        self.record(Event(self.clock(), "pipeline_created", pipeline.project_slug, pipeline.number, detail=where))
        try:
            plan = self.planner.plan(pipeline)
        except ConfigError as exc:
            kind = "config-fetch" if isinstance(exc, ConfigFetchError) else "config"
            self.state.mark_pipeline_errored(pipeline.id, [(kind, exc.message)])
            self.record(
                Event(self.clock(), "pipeline_errored", pipeline.project_slug, pipeline.number, detail=str(exc))
            )
            return
        if plan.setup:
            self.state.begin_setup(pipeline.id)  # setup-pending: the key exists before any job can read it
            pipeline = self.state.get_pipeline(pipeline.id)
        self._add_workflows(run, plan, pipeline)
        self.state.set_pipeline_state(pipeline.id, "setup" if plan.setup else "created")

    def _add_workflows(self, run: PipelineRun, plan: PipelinePlan, pipeline: Pipeline) -> None:
        for workflow_plan in plan.workflows:
            workflow = self.state.add_workflow(pipeline.id, workflow_plan.name)
            run.workflows.append(self.runner.create(run, workflow.id, workflow_plan, pipeline, setup=plan.setup))
        for name in plan.skipped:
            self.record(Event(self.clock(), "workflow_skipped", run.project, run.number, workflow=name))

    def _check_continuation(
        self, pipeline: Pipeline, configuration: str, parameters: Mapping[str, Any]
    ) -> Optional[str]:
        """Compile a continuation config as CircleCI does before accepting it (called in the server's thread)."""
        try:
            self.planner.plan_continuation(pipeline, configuration, parameters)
        except ConfigError as exc:
            return exc.message
        return None

    def _continue(self, pipeline_id: str, configuration: str, parameters: dict[str, Any]) -> None:
        """The setup workflow continued the pipeline: run the workflows of the config it gave."""
        run = self.pipelines[pipeline_id]
        pipeline = self.state.get_pipeline(pipeline_id)
        self.record(Event(self.clock(), "pipeline_continued", run.project, run.number, detail="continued"))
        try:
            plan = self.planner.plan_continuation(pipeline, configuration, parameters)
        except ConfigError as exc:
            self.state.mark_pipeline_errored(pipeline.id, [("config", exc.message)])
            self.record(Event(self.clock(), "pipeline_errored", run.project, run.number, detail=str(exc)))
            return
        self._add_workflows(run, plan, pipeline)
        self.state.set_pipeline_state(pipeline.id, "created")

    def _rerun(self, old: WorkflowRun, new_id: str) -> None:
        pipeline = self.pipelines[old.pipeline.id]
        pipeline.workflows.append(self.runner.adopt(old, new_id))

    def _advance_all(self) -> None:
        for pipeline in self.pipelines.values():
            for workflow in pipeline.workflows:
                self.runner.advance(workflow)

    def _holds(self) -> list[str]:
        return [
            f"{pipeline.project} #{pipeline.number} {workflow.name}/{job.plan.name}"
            for pipeline in self.pipelines.values()
            for workflow in pipeline.workflows
            for job in workflow.jobs.values()
            if job.status == "on_hold" and job.status not in JOB_TERMINAL
        ]


def _spec(slug: str, value: ProjectInput) -> ProjectSpec:
    ProjectSlug.parse(slug)
    if isinstance(value, ProjectSpec):
        return value
    return ProjectSpec(config=Path(value))
