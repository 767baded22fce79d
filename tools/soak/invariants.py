"""The soak's invariants, checked from the simulator's own state and request log after a run.

Each violation is one line naming the invariant (the text before the colon), so runs can be counted by it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from cb_helper.rehearse.timeline import JobResult, PipelineResult, RehearsalResult
from cb_helper.sim import SimState
from tools.soak.projects import CHECK_STEP, Link, Scenario

INVARIANTS = (
    "one B per trigger",
    "hold approved once",
    "verdict is B's outcome",
    "deadline kept",
    "token never shown",
    "documented exit",
    "no traceback",
    "settled",
)
#: The exit status A's check must end with, by the status of B's workflow.
VERDICTS = {"success": 0, "failed": 1, "failing": 1, "error": 1, "unauthorized": 1, "canceled": 5, "not_run": 5}
DOCUMENTED_EXITS = range(6)
#: Commands that must succeed in every soak scenario (A's check is judged by its verdict instead).
MUST_SUCCEED = ("--version", "trigger", "approve", "sweep")
MASK = "********"  # what the runner prints in place of a secret: the token reached a job's output
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Evidence:
    scenario: Scenario
    state: SimState
    result: RehearsalResult
    calls: list[tuple[int, list[str]]]
    sweeps: list[subprocess.CompletedProcess[str]]
    internal_errors: list[str]
    sentinel: str
    #: Triggers that failed without creating B (exit 3, "not re-sent"): A failed loudly, nothing ran twice.
    refused: list[str] = field(default_factory=list)


def check(evidence: Evidence) -> tuple[list[str], list[float]]:
    """(violations, seconds from start to each A's verdict)."""
    violations: list[str] = []
    verdicts: list[float] = []
    if evidence.result.outcome != "settled":
        violations.append(f"settled: the rehearsal ended {evidence.result.outcome}: {evidence.result.waiting}")
    holds: set[str] = set()
    for upstream in evidence.scenario.upstreams:
        pipelines = evidence.result.pipelines_of(upstream.slug)
        if len(pipelines) != 1:
            violations.append(f"settled: {upstream.slug} ran {len(pipelines)} pipelines")
            continue
        for link in upstream.links:
            seconds = _link(evidence, pipelines[0], link, violations, holds)
            if seconds is not None:
                verdicts.append(seconds)
    stray = [e for e in evidence.state.effects("approve") if e.job_id not in holds]
    if stray:
        violations.append(f"hold approved once: {len(stray)} approval(s) of jobs no trigger's record names")
    _token(evidence, violations)
    _exits(evidence, violations)
    return violations, verdicts


def _link(evidence: Evidence, a: PipelineResult, link: Link, violations: list[str], holds: set[str]) -> Optional[float]:
    where = f"{a.project} {link.trigger}"
    state = evidence.state
    workflow = a.workflow()
    trigger, hold, check_job = (_job(a, name) for name in (link.trigger, link.hold, link.check))
    if hold is not None:
        holds.add(hold.id)
    records = [
        (pipeline, record)
        for pipeline in state.pipelines_of(link.downstream)
        for record in [_record(pipeline.parameters.get("circleback"))]
        if record is not None and record.get("workflow_id") == workflow.id and record.get("hold") == link.hold
    ]
    triggered = trigger is not None and trigger.status == "success"
    if len(records) != (1 if triggered else 0):
        violations.append(f"one B per trigger: {where} ended {getattr(trigger, 'status', None)}; {len(records)} B")
    if trigger is not None and not triggered and not records:
        errors = [line for line in trigger.output().splitlines() if line.startswith("cb-helper: error:")]
        evidence.refused.append(f"{where}: {errors[-1] if errors else trigger.status}")
    if not triggered or len(records) != 1 or hold is None:
        return None
    b_pipeline, record = records[0]
    approvals = state.effects("approve", job_id=hold.id)
    if len(approvals) != 1:
        violations.append(f"hold approved once: {where}'s hold {link.hold} approved {len(approvals)} times")
    b_workflows = state.workflows_of(b_pipeline.id)
    b_status = state.workflow_status(b_workflows[0].id) if b_workflows else "not_run"
    expected = VERDICTS.get(b_status)
    verdict = _step_exit(check_job)
    if verdict != expected:
        violations.append(f"verdict is B's outcome: {where}: B {b_status}, A's check exited {verdict}")
    tests = evidence.scenario.outcomes[link.downstream]
    if b_status != ("success" if tests == 0 else "failed"):
        violations.append(f"verdict is B's outcome: {where}: B's tests exited {tests}, its workflow is {b_status}")
    finished = state.get_job(check_job.id).stopped_at if check_job is not None else None
    deadline = datetime.fromisoformat(str(record.get("deadline")).replace("Z", "+00:00"))
    if finished is None or finished > deadline:
        violations.append(f"deadline kept: {where}: verdict at {finished}, deadline {deadline}")
    return check_job.stopped if check_job is not None else None


def _job(pipeline: PipelineResult, name: str) -> Optional[JobResult]:
    try:
        return pipeline.job(name)
    except KeyError:
        return None


def _record(text: Any) -> Optional[dict[str, Any]]:
    try:
        data = json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _step_exit(job: Optional[JobResult]) -> Optional[int]:
    if job is None:
        return None
    for step in job.steps:
        if step.name == CHECK_STEP:
            return step.exit_code
    return None


def _outputs(evidence: Evidence) -> list[tuple[str, str]]:
    found = [
        (f"{p.project} #{p.number} {job.name}", job.output())
        for p in evidence.result.pipelines
        for workflow in p.workflows
        for job in workflow.jobs
    ]
    for index, sweep in enumerate(evidence.sweeps):
        found.append((f"sweep {index + 1}", sweep.stdout + sweep.stderr))
    return found


def _token(evidence: Evidence, violations: list[str]) -> None:
    secret = evidence.sentinel
    for where, text in _outputs(evidence):
        if secret in text or MASK in text:
            violations.append(f"token never shown: in the output of {where}")
    for request in evidence.state.request_log:
        if secret in request.path or secret in json.dumps([request.query, request.body], default=str):
            violations.append(f"token never shown: in request {request.method} {request.path}")
    for _, argv in evidence.calls:
        if any(secret in arg for arg in argv):
            violations.append(f"token never shown: in the argv of cb-helper {' '.join(argv[:1])}")


def _exits(evidence: Evidence, violations: list[str]) -> None:
    for status, argv in evidence.calls:
        command = argv[0] if argv else ""
        if status not in DOCUMENTED_EXITS:
            violations.append(f"documented exit: cb-helper {command} exited {status}")
        elif command in MUST_SUCCEED and status != 0:
            violations.append(f"documented exit: cb-helper {command} exited {status} (expected 0)")
    for index, sweep in enumerate(evidence.sweeps):
        if sweep.returncode != 0:
            violations.append(f"documented exit: sweep {index + 1} exited {sweep.returncode}: {sweep.stderr.strip()}")
    for where, text in _outputs(evidence):
        if TRACEBACK in text:
            violations.append(f"no traceback: in the output of {where}")
    for error in evidence.internal_errors:
        violations.append(f"no traceback: the simulator failed: {error.strip().splitlines()[-1]}")
