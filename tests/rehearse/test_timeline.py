"""The timeline's figures: how long holds waited, and how long build jobs ran (were billed) while one waited."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from cb_helper.rehearse.engine import ProjectSpec, Rehearsal
from cb_helper.rehearse.timeline import JobResult, PipelineResult, RehearsalResult, WorkflowResult
from tests.rehearse.helpers import write_project

A = "gh/acme/project-a"
B = "gh/acme/project-b"
JOB = "docker: [{image: cimg/base:current}]"


def job(name: str, type: str, started: Optional[float], stopped: Optional[float]) -> JobResult:
    return JobResult(name, name, type, "success", started=started, stopped=stopped)


def pipeline(project: str, *workflows: list[JobResult]) -> PipelineResult:
    return PipelineResult(
        "p", 1, project, "created", workflows=[WorkflowResult(f"w{i}", "main", "success", jobs) for i, jobs in
                                              enumerate(workflows)]
    )  # fmt: skip


def test_billable_seconds_are_the_overlap_of_build_runs_with_merged_holds() -> None:
    result = pipeline(
        A,
        [
            job("hold", "approval", 10.0, 20.0),
            job("hold-2", "approval", 15.0, 25.0),  # overlaps the first: merged into 10..25
            job("late-hold", "approval", 40.0, None),  # still waiting: counts until the end
            job("before", "build", 0.0, 12.0),  # 2 s inside
            job("during", "build", 18.0, 19.0),  # 1 s inside, counted once despite two holds
            job("after", "build", 30.0, 42.5),  # 2.5 s inside the late hold
            job("running", "build", 48.0, None),  # runs until the end: 2 s
            job("never", "build", None, None),
        ],
    )
    assert result.hold_seconds(50.0) == 25.0
    assert result.billable_while_waiting(50.0) == 7.5


def test_holds_in_other_workflows_and_projects_count_only_for_their_own_pipeline() -> None:
    first = pipeline(A, [job("hold", "approval", 0.0, 10.0)], [job("build", "build", 5.0, 8.0)])
    other = pipeline(B, [job("build", "build", 0.0, 10.0)])
    rehearsal = RehearsalResult("settled", 10.0, [first, other], [])
    assert rehearsal.billable_while_waiting(A) == 3.0
    assert rehearsal.billable_while_waiting(B) == 0.0
    assert first.hold_seconds(10.0) == 10.0


def test_a_build_job_running_beside_a_hold_is_billed_while_it_waits(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      busy: {{ {JOB}, steps: [{{run: "sleep 0.5"}}] }}
    workflows:
      main:
        jobs: [{{hold: {{type: approval}}}}, busy]
    """
    spec = ProjectSpec(write_project(tmp_path, "project-a", config), branches=("main",))
    with Rehearsal({A: spec}) as rehearsal:
        rehearsal.start(A)
        waiting = rehearsal.run_until_settled(30)
        assert waiting.outcome == "stuck"
        workflow = waiting.pipeline(A).workflow()
        rehearsal.state.approve_job(workflow.id, workflow.job("hold").id)
        result = rehearsal.run_until_settled(30)
    busy = result.pipeline(A).job("busy")
    hold = result.pipeline(A).job("hold")
    assert busy.started is not None
    assert busy.stopped is not None
    assert hold.started is not None
    assert hold.stopped is not None
    overlap = min(busy.stopped, hold.stopped) - max(busy.started, hold.started)
    assert overlap > 0
    assert result.billable_while_waiting(A) == overlap


def test_an_open_hold_counts_until_the_rehearsal_ended() -> None:
    waiting = pipeline(A, [job("hold", "approval", 0.0, None), job("build", "build", 4.0, None)])
    rehearsal = RehearsalResult("stuck", 10.0, [waiting], [])
    assert rehearsal.billable_while_waiting(A) == 6.0


def test_looking_up_what_did_not_run_names_it() -> None:
    result = pipeline(A, [job("hold", "approval", 0.0, 1.0)])
    rehearsal = RehearsalResult("settled", 1.0, [result], [])
    with pytest.raises(KeyError, match=f"no pipeline of project {B!r} ran"):
        rehearsal.pipeline(B)
    with pytest.raises(KeyError, match=f"pipeline {A} #1 has no workflow 'other'"):
        result.workflow("other")
    with pytest.raises(KeyError, match=f"pipeline {A} #1 has no job 'deploy'"):
        result.job("deploy")
    with pytest.raises(KeyError, match="workflow 'main' has no job 'deploy'"):
        result.workflow().job("deploy")
