"""Pipelines as the runner tracks them, and the planner that turns a simulator pipeline into workflows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from cb_helper.api.errors import BadInput
from cb_helper.rehearse.compiler import Values
from cb_helper.rehearse.errors import ConfigError, ConfigFetchError
from cb_helper.rehearse.execution import StepResult
from cb_helper.rehearse.files import Workspace
from cb_helper.rehearse.jobtmp import private_tmp
from cb_helper.rehearse.parameters import bind_pipeline
from cb_helper.rehearse.plan import JobPlan, PipelinePlan, WorkflowPlan
from cb_helper.rehearse.project import OrbSource, ProjectConfig, load_project
from cb_helper.rehearse.spec import ProjectSpec
from cb_helper.rehearse.timeline import JobResult, PipelineResult, WorkflowResult
from cb_helper.rehearse.workflows import pipeline_values, plan_pipeline
from cb_helper.sim import SimState
from cb_helper.sim.model import iso

if TYPE_CHECKING:
    from cb_helper.sim.model import Pipeline


@dataclass
class JobRun:
    """One job of a workflow run; ``status`` mirrors the simulator's."""

    plan: JobPlan
    id: str
    status: str
    number: Optional[int] = None
    started: Optional[float] = None
    stopped: Optional[float] = None
    steps: list[StepResult] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: Optional[threading.Thread] = None


@dataclass
class WorkflowRun:
    id: str
    plan: WorkflowPlan
    pipeline: PipelineRun
    workspace: Workspace
    jobs: dict[str, JobRun] = field(default_factory=dict)
    #: Job names in the order they finished (workspace layers attach in this order).
    finished: list[str] = field(default_factory=list)
    reported: bool = False
    #: A workflow of the pipeline's setup phase: its jobs get ``CIRCLE_CONTINUATION_KEY``.
    setup: bool = False

    @property
    def name(self) -> str:
        return self.plan.name


@dataclass
class PipelineRun:
    id: str
    number: int
    project: str
    workflows: list[WorkflowRun] = field(default_factory=list)

    def snapshot(self, state: SimState, runner: Any = None) -> PipelineResult:
        """This pipeline as the simulator shows it, with the runner's step results attached."""
        pipeline = state.get_pipeline(self.id)
        result = PipelineResult(
            id=self.id,
            number=self.number,
            project=self.project,
            state=pipeline.state,
            branch=pipeline.branch,
            tag=pipeline.tag,
            parameters=dict(pipeline.parameters),
            errors=list(pipeline.errors),
        )
        for workflow in self.workflows:
            entry = WorkflowResult(workflow.id, workflow.name, state.workflow_status(workflow.id))
            for job in state.jobs_of(workflow.id):
                local = workflow.jobs.get(job.name)
                entry.jobs.append(
                    JobResult(
                        name=job.name,
                        id=job.id,
                        type=job.type,
                        status=job.status,
                        number=job.job_number,
                        started=local.started if local else None,
                        stopped=local.stopped if local else None,
                        steps=list(local.steps) if local else [],
                        tests=(state.tests_of(job.project_slug, job.job_number) or []) if job.job_number else [],
                    )
                )
            result.workflows.append(entry)
        return result


class Planner:
    """Loads each project's config once and plans pipelines from it."""

    def __init__(
        self,
        specs: Mapping[str, ProjectSpec],
        orbs: Mapping[str, OrbSource],
        contexts: Mapping[str, Mapping[str, str]],
        tmp_root: Optional[Path] = None,
    ) -> None:
        #: Where each job's own ``/tmp`` is made (see :mod:`cb_helper.rehearse.jobtmp`); ``None``: the real one.
        self._tmp_root = tmp_root
        self._specs = dict(specs)
        self._orbs = dict(orbs)
        self._contexts = dict(contexts)
        self._loaded: dict[str, ProjectConfig] = {}

    def spec(self, slug: str) -> ProjectSpec:
        for known, spec in self._specs.items():
            if known.lower() == slug.lower():
                return spec
        raise BadInput(f"project {slug!r} is not part of this rehearsal (expected one of {', '.join(self._specs)})")

    def project(self, slug: str) -> ProjectConfig:
        """The loaded config (loaded again after an error, so a fixed file is picked up)."""
        try:
            spec = self.spec(slug)
        except BadInput:
            raise ConfigFetchError(f"no config is known for project {slug}") from None
        if slug not in self._loaded:
            self._loaded[slug] = load_project(spec.config, self._orbs)
        return self._loaded[slug]

    def plan(self, pipeline: Pipeline) -> PipelinePlan:
        """Plan a pipeline the simulator created; raises :class:`ConfigError` for a broken config."""
        return self._plan(
            pipeline.project_slug,
            pipeline_id=pipeline.id,
            number=pipeline.number,
            branch=pipeline.branch,
            tag=pipeline.tag,
            parameters=pipeline.parameters,
            trigger_type=pipeline.trigger_type,
            received_at=iso(pipeline.created_at) or "",
            schedule_name=pipeline.schedule_name,
        )

    def plan_continuation(self, pipeline: Pipeline, configuration: str, parameters: Mapping[str, Any]) -> PipelinePlan:
        """Plan the config a setup workflow continued ``pipeline`` with (``parameters``: trigger's and its own).

        The text is written to a file of its own beside the jobs' files, so its ``checkout`` and orbs resolve
        as the project's config does; a broken config raises :class:`ConfigError`.
        """
        spec = self.spec(pipeline.project_slug)
        folder = (self._tmp_root.parent if self._tmp_root is not None else spec.config.parent) / "continuations"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{pipeline.id}-{uuid.uuid4().hex[:8]}.yml"
        path.write_text(configuration, encoding="utf-8")
        project = load_project(path, self._orbs)
        if project.setup:
            raise ConfigError("a continuation config cannot itself be a setup config (setup: true)")
        return self._plan_project(
            project,
            pipeline.project_slug,
            pipeline_id=pipeline.id,
            number=pipeline.number,
            branch=pipeline.branch,
            tag=pipeline.tag,
            parameters=parameters,
            trigger_type=pipeline.trigger_type,
            received_at=iso(pipeline.created_at) or "",
            schedule_name=pipeline.schedule_name,
        )

    def dry_run(
        self,
        slug: str,
        *,
        branch: Optional[str],
        tag: Optional[str],
        parameters: Mapping[str, Any],
        trigger_type: str = "webhook",
    ) -> PipelinePlan:
        """Plan with placeholder pipeline values, to report config errors before anything is created."""
        return self._plan(
            slug,
            pipeline_id=str(uuid.UUID(int=0)),
            number=0,
            branch=branch,
            tag=tag,
            parameters=parameters,
            trigger_type=trigger_type,
        )

    def _plan(
        self,
        slug: str,
        *,
        pipeline_id: str,
        number: int,
        branch: Optional[str],
        tag: Optional[str],
        parameters: Mapping[str, Any],
        trigger_type: str,
        received_at: str = "",
        schedule_name: Optional[str] = None,
    ) -> PipelinePlan:
        return self._plan_project(
            self.project(slug),
            slug,
            pipeline_id=pipeline_id,
            number=number,
            branch=branch,
            tag=tag,
            parameters=parameters,
            trigger_type=trigger_type,
            received_at=received_at,
            schedule_name=schedule_name,
        )

    def _plan_project(
        self,
        project: ProjectConfig,
        slug: str,
        *,
        pipeline_id: str,
        number: int,
        branch: Optional[str],
        tag: Optional[str],
        parameters: Mapping[str, Any],
        trigger_type: str,
        received_at: str = "",
        schedule_name: Optional[str] = None,
    ) -> PipelinePlan:
        values = Values(
            pipeline_values(
                pipeline_id=pipeline_id,
                number=number,
                project_slug=slug,
                branch=branch,
                tag=tag,
                trigger_type=trigger_type,
                received_at=received_at,
                schedule_name=schedule_name,
            ),
            bind_pipeline(project.parameters, parameters),
        )
        if self._tmp_root is not None:
            project = private_tmp(project, self._tmp_root / Path(*slug.lower().split("/")) / f"pipeline-{number}")
        return plan_pipeline(project, values, branch=branch, tag=tag, contexts=self._contexts)
