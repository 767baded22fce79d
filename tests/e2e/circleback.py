"""Projects for the end-to-end tests, built from the orb's own usage examples.

Changes to the examples are only parameter values (see ``localize``: each trigger and check job gets
its own workspace directory, and checks poll every second), plus the pipeline parameters B must
declare (usage examples cannot show them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Optional

from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.examples import (
    CIRCLEBACK_PARAMETER,
    TRIGGERING_PARAMETERS,
    declare,
    example_config,
    localize,
    set_arguments,
    write_config,
)
from cb_helper.rehearse.timeline import Event, JobResult, RehearsalResult
from cb_helper.sim import SimServer, SimState

A = "gh/acme/project-a"
B = "gh/acme/project-b"
C = "gh/acme/project-c"

UPSTREAM = "trigger_and_wait_for_downstream"
FAN_OUT = "fan_out_to_two_projects"
STYLES = {"post-steps": "circle_back_with_post_steps", "final-job": "circle_back_with_final_job"}

#: Project A as a user writes it (the trigger_and_wait_for_downstream example, polling every second).
UPSTREAM_CONFIG = """
version: 2.1
orbs:
  circleback: circleback/circleback@0.1
workflows:
  build-and-integrate:
    jobs:
      - circleback/trigger:
          name: trigger-project-b
          context: circleci-api
          project_slug: gh/acme/project-b
          branch: main
      - wait-for-triggered-pipeline:
          type: approval
          requires: [trigger-project-b]
      - circleback/check_status:
          name: check-project-b
          context: circleci-api
          interval: 1
          requires: [wait-for-triggered-pipeline]
"""

#: B's tests: the file ``outcome`` beside the script says how they end (an exit code, or ``hang``).
RUN_TESTS = """#!/usr/bin/env bash
outcome="$(cat "$(dirname "$0")/outcome")"
echo "running ${1:-all} tests (outcome: $outcome)"
if [ "$outcome" = hang ]; then sleep 60; fi
exit "$outcome"
"""


def upstream(orb: Path, root: Path, example: str = UPSTREAM) -> dict[str, Any]:
    return localize(example_config(orb, example), root)


def downstream(orb: Path, style: str, *, declared: bool = True) -> dict[str, Any]:
    config = example_config(orb, STYLES[style])
    return declare(config, CIRCLEBACK_PARAMETER) if declared else config


def write_project(root: Path, name: str, config: Mapping[str, Any], outcome: Optional[str] = None) -> Path:
    """The project's directory with its config (and, for a downstream, run-tests.sh and outcome)."""
    project = root / name
    path = write_config(config, project)
    if outcome is not None:
        script = project / "run-tests.sh"
        script.write_text(RUN_TESTS, encoding="utf-8")
        script.chmod(0o755)
        (project / "outcome").write_text(outcome, encoding="utf-8")
    return path


def rehearsal(
    orb: Path,
    projects: Mapping[str, Path],
    *,
    page_size: int = 20,
    on_event: Optional[Callable[[Event], None]] = None,
    server: Optional[SimServer] = None,
) -> Rehearsal:
    return Rehearsal(
        dict(projects),
        orbs={"circleback": orb},
        contexts={"circleci-api": {}, "production-deploy": {}},
        page_size=page_size,
        on_event=on_event,
        server=server,
    )


def record_of(text: str) -> tuple[str, str, str, str, str]:
    """(A's project, pipeline id, workflow id, hold, B's project) from a circleback record parameter."""
    data = json.loads(text)
    return data["project"], data["pipeline_id"], data["workflow_id"], data["hold"], data["downstream"]


def legacy(a_config: dict[str, Any], b_config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed's two-parameter handoff on both sides: A's trigger passes the ids, B approves by them."""
    for workflow in a_config["workflows"].values():
        for entry in workflow["jobs"]:
            if isinstance(entry, dict) and next(iter(entry)) == "circleback/trigger":
                next(iter(entry.values()))["handoff"] = "legacy"
    set_arguments(
        b_config,
        "circleback/circle_back",
        {
            "upstream": "",
            "upstream_workflow_id": "<< pipeline.parameters.triggering-workflow-id >>",
            "upstream_pipeline_id": "<< pipeline.parameters.triggering-pipeline-id >>",
            "allowed_projects": A,
        },
    )
    declare(b_config, TRIGGERING_PARAMETERS)
    return a_config, b_config


def canceller(
    state: SimState, project: str, jobs: set[str], *, whole_workflow: bool = False
) -> Callable[[Event], None]:
    """An event hook that cancels the named jobs (or their whole workflow) as soon as they run."""

    def on_event(event: Event) -> None:
        if event.kind != "job_started" or event.project != project or event.job not in jobs:
            return
        [pipeline] = state.pipelines_of(project)
        [workflow] = state.workflows_of(pipeline.id)
        if whole_workflow:
            state.cancel_workflow(workflow.id)
            return
        job = next(j for j in state.jobs_of(workflow.id) if j.name == event.job)
        state.set_job_status(job.id, "canceled")

    return on_event


def step(job: JobResult, name: str) -> Any:
    for candidate in job.steps:
        if candidate.name == name:
            return candidate
    raise AssertionError(f"job {job.name} has no step {name!r}: {[s.name for s in job.steps]}")


def approvals(state: SimState) -> list[str]:
    """The workflow ids approve requests were sent for, in order."""
    return [
        record.path.split("/")[2]
        for record in state.request_log
        if record.method == "POST" and "/approve/" in record.path and record.status == 202
    ]


def approve_requests(state: SimState) -> list[str]:
    """Every request sent to an approve endpoint, whatever its answer."""
    return [
        f"{record.method} {record.path} {record.status}" for record in state.request_log if "/approve/" in record.path
    ]


def billed_while_held(state: SimState, pipeline_id: str) -> tuple[float, float]:
    """Seconds on hold and seconds build jobs ran during holds, from the times the API shows for each job."""
    jobs = [job for workflow in state.workflows_of(pipeline_id) for job in state.jobs_of(workflow.id)]

    def spans(kind: str) -> list[tuple[float, float]]:
        return [
            (job.started_at.timestamp(), job.stopped_at.timestamp())
            for job in jobs
            if job.type == kind and job.started_at is not None and job.stopped_at is not None
        ]

    holds, runs = spans("approval"), spans("build")
    held = sum(end - start for start, end in holds)
    billed = sum(
        max(0.0, min(r_end, h_end) - max(r_start, h_start)) for r_start, r_end in runs for h_start, h_end in holds
    )
    return held, billed


def describe(result: RehearsalResult) -> str:
    """Everything about a rehearsal, for assertion messages."""
    lines = [f"outcome {result.outcome} {result.waiting}"]
    for pipeline in result.pipelines:
        lines.append(f"{pipeline.project} #{pipeline.number} {pipeline.state} {pipeline.errors}")
        for workflow in pipeline.workflows:
            for job in workflow.jobs:
                lines.append(f"  {workflow.name}/{job.name}: {job.status}")
                lines.extend(f"    {line}" for line in job.output().splitlines()[-15:])
    return "\n".join(lines)
