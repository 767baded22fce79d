"""What happened during a rehearsal, and when: the timeline and the result objects built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from cb_helper.rehearse.execution import StepResult
from cb_helper.sim.model import TestResult


@dataclass(frozen=True)
class Event:
    """One moment of the rehearsal; ``at`` is seconds since the rehearsal started."""

    at: float
    kind: str
    project: str
    pipeline_number: Optional[int] = None
    workflow: Optional[str] = None
    job: Optional[str] = None
    detail: str = ""


@dataclass
class JobResult:
    name: str
    id: str
    type: str
    status: str
    number: Optional[int] = None
    #: Seconds since the rehearsal started: when the job ran (or, for an approval, went on hold).
    started: Optional[float] = None
    stopped: Optional[float] = None
    steps: list[StepResult] = field(default_factory=list)
    #: The test results the job stored (store_test_results), as the simulator holds them.
    tests: list[TestResult] = field(default_factory=list)

    @property
    def failed_tests(self) -> list[TestResult]:
        return [t for t in self.tests if t.result not in ("success", "skipped")]

    @property
    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    def step(self, name: str) -> StepResult:
        """The step of that name (the last one, when several share it), as the timeline names it."""
        for step in reversed(self.steps):
            if step.name == name:
                return step
        names = ", ".join(repr(s.name) for s in self.steps) or "none ran"
        raise KeyError(f"job {self.name!r} has no step {name!r} (its steps: {names})")

    def output(self) -> str:
        """Every step's output, each under a header with its name."""
        return "".join(f"--- {s.name} [{s.status}]\n{s.output}" for s in self.steps if s.status != "skipped")


@dataclass
class WorkflowResult:
    id: str
    name: str
    status: str
    jobs: list[JobResult] = field(default_factory=list)

    def job(self, name: str) -> JobResult:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"workflow {self.name!r} has no job {name!r}")


@dataclass
class PipelineResult:
    id: str
    number: int
    project: str
    state: str
    branch: Optional[str] = None
    tag: Optional[str] = None
    parameters: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: Oldest first (the order they were created; a rerun comes after the workflow it reran).
    workflows: list[WorkflowResult] = field(default_factory=list)

    def workflow(self, name: Optional[str] = None) -> WorkflowResult:
        """The newest workflow (of that name)."""
        for workflow in reversed(self.workflows):
            if name is None or workflow.name == name:
                return workflow
        raise KeyError(f"pipeline {self.project} #{self.number} has no workflow {name!r}")

    def job(self, name: str) -> JobResult:
        """The job of that name in the newest workflow that has it."""
        for workflow in reversed(self.workflows):
            for job in workflow.jobs:
                if job.name == name:
                    return job
        raise KeyError(f"pipeline {self.project} #{self.number} has no job {name!r}")

    def hold_seconds(self, until: float) -> float:
        """Seconds this pipeline's approval holds spent waiting (overlaps counted once)."""
        holds = [
            (job.started, job.stopped if job.stopped is not None else until)
            for workflow in self.workflows
            for job in workflow.jobs
            if job.type == "approval" and job.started is not None
        ]
        return sum(end - start for start, end in _merge(holds))

    def billable_while_waiting(self, until: float) -> float:
        """Seconds this pipeline's build jobs ran while one of its approval holds was waiting."""
        holds = [
            (job.started, job.stopped if job.stopped is not None else until)
            for workflow in self.workflows
            for job in workflow.jobs
            if job.type == "approval" and job.started is not None
        ]
        runs = [
            (job.started, job.stopped if job.stopped is not None else until)
            for workflow in self.workflows
            for job in workflow.jobs
            if job.type == "build" and job.started is not None
        ]
        return sum(
            max(0.0, min(run_end, hold_end) - max(run_start, hold_start))
            for run_start, run_end in runs
            for hold_start, hold_end in _merge(holds)
        )


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@dataclass
class RehearsalResult:
    """The outcome of :meth:`Rehearsal.run_until_settled`.

    ``outcome`` is ``settled`` (every pipeline finished), ``stuck`` (only approval holds wait; see
    ``waiting``) or ``timeout`` (jobs were still running; see ``waiting``).
    """

    outcome: str
    elapsed: float
    pipelines: list[PipelineResult]
    timeline: list[Event]
    waiting: list[str] = field(default_factory=list)

    def pipelines_of(self, project: str) -> list[PipelineResult]:
        return [p for p in self.pipelines if p.project == project]

    def pipeline(self, project: str, index: int = 0) -> PipelineResult:
        """The project's pipelines in creation order; ``index=-1`` is the newest."""
        found = self.pipelines_of(project)
        if not found:
            raise KeyError(f"no pipeline of project {project!r} ran")
        return found[index]

    def billable_while_waiting(self, project: str) -> float:
        """Seconds the project's jobs were running while its approval holds waited (ideally 0)."""
        return sum(p.billable_while_waiting(self.elapsed) for p in self.pipelines_of(project))
