"""`cb-helper sweep` against the simulator: a handoff is believed only when the API shows A's trigger created B.

Every hold here is one a believed handoff would act on (B still running past a deadline, or finished without
circling back), so a hold left alone is left alone because the handoff was not proven.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional, cast

import pytest

from cb_helper.api.client import CircleCIClient
from cb_helper.api.times import now
from cb_helper.pattern.record import HANDOFF_ARTIFACT, Record
from cb_helper.pattern.sweep_checks import StoredHandoff, stored_for_hold, verify
from cb_helper.sim import SimServer
from cb_helper.sim.model import iso
from tests.helper.conftest import HOLD, PROJECT_A, PROJECT_B, Run, Upstream, finish_downstream, make_upstream
from tests.helper.test_record_cli import handed_off

PROJECT_C = "gh/acme/project-c"
ELSEWHERE = "7a0cd2b4-4a43-4d17-9d6b-0c6f3b0d1e55"


def store(sim: SimServer, upstream: Upstream, handoff: dict[str, Any], job: str = "trigger") -> None:
    number = sim.state.get_job(upstream.jobs[job]).job_number
    assert number is not None
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=json.dumps(handoff).encode())


def tick() -> None:
    """Let the clock move past the API's millisecond resolution, so "before" and "after" are told apart."""
    time.sleep(0.005)


@dataclass
class Handed:
    upstream: Upstream
    b_id: str
    b_workflow: Any

    def trigger_job(self, sim: SimServer) -> Any:
        return sim.state.get_job(self.upstream.jobs["trigger"])


def handoff_of(
    sim: SimServer,
    *,
    created: str = "during",
    trigger_type: str = "api",
    b_project: str = PROJECT_B,
    change: Optional[Callable[[dict[str, Any]], None]] = None,
    trigger_stops: bool = True,
) -> Handed:
    """A's hold on hold, its trigger job's handoff naming a B pipeline running past the record's deadline.

    ``created`` says when B's pipeline was made relative to the trigger job's run (``before``, ``during``,
    ``after``); ``change`` edits the stored handoff.
    """
    state = sim.state
    if b_project == PROJECT_C:
        state.add_project(PROJECT_C)

    def make_b() -> Any:
        return state.create_pipeline(b_project, branch="main", trigger_type=trigger_type)

    b = make_b() if created == "before" else None
    tick()
    upstream = make_upstream(sim, hold_status="blocked")  # the trigger job runs
    tick()
    if created == "during":
        b = make_b()
        tick()
    if trigger_stops:
        state.set_job_status(upstream.jobs["trigger"], "success")
    state.set_job_status(upstream.hold_id, "on_hold")
    if created == "after":
        tick()
        b = make_b()
    assert b is not None
    b_workflow = finish_downstream(sim, b.id, {"tests": "running"})
    pipeline = state.get_pipeline(upstream.pipeline_id)
    record = Record(
        PROJECT_A, pipeline.id, pipeline.number, upstream.workflow_id, HOLD, now() - timedelta(hours=1), PROJECT_B
    )
    handoff = {
        "v": 1,
        "record": record.as_dict(),
        "downstream_pipeline_id": b.id,
        "downstream_pipeline_number": b.number,
    }
    if change is not None:
        change(handoff)
    store(sim, upstream, handoff)
    return Handed(upstream, b.id, b_workflow)


def swept(run: Run, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    result = run("sweep", "--project", PROJECT_A, "--grace", "0s", "--cancel-project", PROJECT_B, "--json", *extra)
    return result.code, json.loads(result.stdout)["holds"] if result.stdout else [], result.stderr


def test_a_proven_handoff_past_its_deadline_cancels_b_and_releases_the_hold(sim: SimServer, run: Run) -> None:
    """The builder below makes a handoff the sweep believes; each refusal after it changes one thing."""
    handed = handoff_of(sim)
    code, [finding], _ = swept(run)
    assert code == 0
    assert (finding["decision"], finding["unproven"], finding["cancel_allowed"]) == ("cancel_and_release", None, True)
    assert finding["done"] == ["canceled 1 workflow(s) of B", "released the hold"]
    assert sim.state.get_job(handed.upstream.hold_id).status == "success"
    assert sim.state.get_workflow(handed.b_workflow.id).status == "canceled"
    # The proof's read of B's pipeline is the one the verdict uses: proving costs no request.
    assert [r.path for r in sim.state.request_log].count(f"/pipeline/{handed.b_id}") == 1


def _record(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(handoff: dict[str, Any]) -> None:
        handoff["record"][field] = value

    return change


def _handoff(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(handoff: dict[str, Any]) -> None:
        handoff[field] = value

    return change


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ({"trigger_type": "webhook"}, "B's pipeline was triggered by webhook, not through the API"),
        ({"trigger_type": "scheduled_pipeline"}, "triggered by scheduled_pipeline, not through the API"),
        ({"created": "before"}, "not while the job trigger (#1) ran"),
        ({"created": "after"}, "not while the job trigger (#1) ran"),
        ({"b_project": PROJECT_C}, f"B's pipeline is in {PROJECT_C}, not in the record's downstream project"),
        ({"change": _handoff("downstream_pipeline_id", ELSEWHERE)}, f"{ELSEWHERE} does not exist"),
        ({"change": _handoff("downstream_pipeline_number", 99)}, "not #99 as the handoff says"),
        ({"change": _record("project", PROJECT_C)}, f"names project {PROJECT_C}, not {PROJECT_A}"),
        ({"change": _record("pipeline_number", 42)}, "names pipeline #42"),
        ({"change": _record("workflow_id", ELSEWHERE)}, f"names workflow {ELSEWHERE}, not this one"),
        ({"trigger_stops": False}, "the job trigger (#1) has no start and stop time"),
    ],
    ids=[
        "webhook",
        "scheduled",
        "created-before-the-trigger-job",
        "created-after-the-trigger-job",
        "b-in-another-project",
        "no-such-pipeline",
        "another-pipeline-number",
        "another-project",
        "another-pipeline",
        "another-workflow",
        "trigger-job-still-running",
    ],
)
def test_a_handoff_the_api_does_not_prove_leaves_the_hold_alone_and_says_why(
    sim: SimServer, run: Run, how: dict[str, Any], why: str
) -> None:
    handed = handoff_of(sim, **how)
    code, [finding], stderr = swept(run, "--cancel-project", PROJECT_C, "--cancel-orphans")
    assert code == 0, stderr
    assert finding["decision"] == "leave"
    assert why in finding["unproven"], finding["unproven"]
    assert finding["found"] == f"not proven: {finding['unproven']}"
    assert finding["done"] == []
    assert sim.state.get_job(handed.upstream.hold_id).status == "on_hold"
    assert sim.state.get_workflow(handed.b_workflow.id).status == "running"
    assert sim.state.effects() == []


@pytest.mark.parametrize("copied_from", ["pipeline", "workflow"])
def test_a_handoff_copied_from_another_pipeline_or_workflow_of_a_is_ignored(
    sim: SimServer, run: Run, tmp_path: Path, copied_from: str
) -> None:
    """(b) A's real handoff stored again by a job of another pipeline (or workflow) of A: only its own hold moves."""
    original, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "success"})  # B finished without circling back: its hold is due
    copy = make_upstream(sim, pipeline_id=None if copied_from == "pipeline" else original.pipeline_id)
    number = sim.state.get_job(copy.jobs["trigger"]).job_number
    assert number is not None
    text = (tmp_path / "handoff.json").read_bytes()
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=text)
    code, findings, stderr = swept(run)
    assert code == 0, stderr
    by_workflow = {f["workflow_id"]: f for f in findings}
    assert by_workflow[original.workflow_id]["done"] == ["released the hold"]
    ignored = by_workflow[copy.workflow_id]
    assert ignored["decision"] == "leave"
    assert f"the handoff belongs to another {copied_from}" in ignored["unproven"]
    assert sim.state.get_job(copy.hold_id).status == "on_hold"
    assert sim.state.get_job(original.hold_id).status == "success"
    assert [e.job_id for e in sim.state.effects("approve")] == [original.hold_id]
    again = run("sweep", "--project", PROJECT_A, "--grace", "0s", "--cancel-project", PROJECT_B)
    assert again.code == 0
    assert again.stdout.count("\n") == 1  # the copy's line, saying again why it is left alone
    assert f"the handoff belongs to another {copied_from} -> left alone" in again.stdout


def test_a_b_outside_cancel_project_is_left_running_and_its_hold_released(sim: SimServer, run: Run) -> None:
    """(c) past the deadline: release A, cancel nothing, say so."""
    handed = handoff_of(sim)
    result = run("sweep", "--project", PROJECT_A, "--grace", "0s", "--json")  # no --cancel-project at all
    assert result.code == 0, result.output
    [finding] = json.loads(result.stdout)["holds"]
    assert finding["cancel_allowed"] is False
    assert finding["decision"] == "release"
    assert finding["found"].endswith(f"; {PROJECT_B} is not a --cancel-project, so B is left running")
    assert finding["done"] == ["released the hold"]
    assert sim.state.get_job(handed.upstream.hold_id).status == "success"
    assert sim.state.get_workflow(handed.b_workflow.id).status == "running"
    assert [e.kind for e in sim.state.effects()] == ["approve"]


def test_an_orphaned_b_outside_cancel_project_is_left_running(sim: SimServer, run: Run) -> None:
    handed = handoff_of(sim)
    sim.state.cancel_workflow(handed.upstream.workflow_id)
    elsewhere = run("sweep", "--project", PROJECT_A, "--cancel-orphans", "--cancel-project", PROJECT_C)
    assert elsewhere.code == 0, elsewhere.output
    assert f"{PROJECT_B} is not a --cancel-project, so B is left running -> nothing to do" in elsewhere.stdout
    assert sim.state.get_workflow(handed.b_workflow.id).status == "running"
    allowed = run("sweep", "--project", PROJECT_A, "--cancel-orphans", "--cancel-project", PROJECT_B)
    assert "canceled 1 workflow(s) of B" in allowed.stdout
    assert sim.state.get_workflow(handed.b_workflow.id).status == "canceled"


def test_a_malformed_cancel_project_is_refused_before_any_request(sim: SimServer, run: Run) -> None:
    result = run("sweep", "--project", PROJECT_A, "--cancel-project", "acme/project-b")
    assert result.code == 2
    assert "project slug 'acme/project-b' is malformed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert sim.state.request_log == []


def test_a_workflow_rerun_from_failed_keeps_the_first_handoff_and_its_hold_is_left_alone(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    """The trigger job is carried over, not rerun: its handoff names the first workflow, not the rerun."""
    original, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "success"})
    sim.state.cancel_workflow(original.workflow_id)
    rerun = sim.state.rerun_workflow(original.workflow_id, from_failed=True)
    [hold] = [job for job in sim.state.jobs_of(rerun.id) if job.name == HOLD]
    sim.state.set_job_status(hold.id, "on_hold")
    code, [finding], _ = swept(run)
    assert code == 0
    assert finding["workflow_id"] == rerun.id
    assert finding["decision"] == "leave"
    assert "the handoff belongs to another workflow" in finding["unproven"]
    assert sim.state.get_job(hold.id).status == "on_hold"


def test_the_reasons_name_what_the_api_showed(sim: SimServer, run: Run) -> None:
    """Each line says what was found: times, numbers and ids as the API gave them."""
    before = handoff_of(sim, created="before")
    renumbered = handoff_of(sim, change=_handoff("downstream_pipeline_number", 99))
    elsewhere = handoff_of(sim, change=_record("pipeline_number", 42))
    code, findings, _ = swept(run)
    assert code == 0
    reasons = {f["workflow_id"]: f["unproven"] for f in findings}
    job = before.trigger_job(sim)
    b = sim.state.get_pipeline(before.b_id)
    assert reasons[before.upstream.workflow_id] == (
        f"B's pipeline was created at {iso(b.created_at)}, not while the job trigger (#{job.job_number}) ran "
        f"({iso(job.started_at)} to {iso(job.stopped_at)})"
    )
    number = sim.state.get_pipeline(renumbered.b_id).number
    assert reasons[renumbered.upstream.workflow_id] == f"B's pipeline is #{number}, not #99 as the handoff says"
    a = sim.state.get_pipeline(elsewhere.upstream.pipeline_id)
    assert reasons[elsewhere.upstream.workflow_id] == (
        f"the record names pipeline #42 ({a.id}), not this pipeline #{a.number}: "
        "the handoff belongs to another pipeline"
    )


def test_a_handoff_is_found_among_the_holds_other_requirements(sim: SimServer, run: Run) -> None:
    """A hold requiring a person's approval, a build job that stored nothing, and the trigger: the trigger's counts."""
    state = sim.state
    pipeline = state.create_pipeline(PROJECT_A, branch="main")
    workflow = state.add_workflow(pipeline.id, "build")
    gate = state.add_job(workflow.id, "person-gate", type="approval", status="on_hold")
    state.approve_job(workflow.id, gate.id)
    build = state.add_job(workflow.id, "build", status="success")
    trigger = state.add_job(workflow.id, "trigger", status="running")
    tick()
    b = state.create_pipeline(PROJECT_B, branch="main")
    finish_downstream(sim, b.id, {"tests": "success"})
    tick()
    state.set_job_status(trigger.id, "success")
    requires = {gate.id: ["success"], build.id: ["success"], trigger.id: ["success"]}
    hold = state.add_job(workflow.id, HOLD, type="approval", requires=requires)
    state.set_job_status(hold.id, "on_hold")
    record = Record(PROJECT_A, pipeline.id, pipeline.number, workflow.id, HOLD, now(), PROJECT_B)
    handoff = {"v": 1, "record": record.as_dict(), "downstream_pipeline_id": b.id}
    number = state.get_job(trigger.id).job_number
    assert number is not None
    state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=json.dumps(handoff).encode())
    code, [finding], _ = swept(run)
    assert code == 0
    assert (finding["decision"], finding["done"]) == ("release", ["released the hold"])
    assert state.get_job(hold.id).status == "success"


def test_verify_refuses_a_job_the_hold_does_not_require_and_a_record_for_another_hold(
    sim: SimServer, client: CircleCIClient
) -> None:
    """What :func:`stored_for_hold` already filters, :func:`verify` refuses on its own too."""
    handed = handoff_of(sim)
    [workflow] = list(client.paginate(f"/pipeline/{handed.upstream.pipeline_id}/workflow"))
    jobs = {job["name"]: job for job in client.paginate(f"/workflow/{workflow['id']}/job")}
    [stored] = stored_for_hold(client, jobs[HOLD], jobs.values())
    assert verify(client, PROJECT_A, workflow, jobs[HOLD], stored).proven
    check = StoredHandoff(jobs["check"], stored.handoff)
    assert verify(client, PROJECT_A, workflow, jobs[HOLD], check).reason == (
        "the job check is not a job the hold requires"
    )
    other_hold = {**jobs[HOLD], "name": "deploy-gate"}
    assert verify(client, PROJECT_A, workflow, other_hold, stored).reason == (
        f"the record names the hold {HOLD!r}, not 'deploy-gate'"
    )
    assert stored_for_hold(client, other_hold, jobs.values()) == []


class _Answering:
    """A client whose answer for B's pipeline is changed by ``edit`` (what the API could send, but the simulator
    does not): a missing trigger, a creation time on the very millisecond the trigger job started or stopped."""

    def __init__(self, client: CircleCIClient, edit: Callable[[dict[str, Any]], None]) -> None:
        self.client, self.edit = client, edit

    def get(self, path: str) -> Any:
        answer = self.client.get(path)
        self.edit(answer)
        return answer


def test_verify_takes_the_trigger_jobs_span_inclusively_and_refuses_an_approval_job_or_an_unknown_trigger(
    sim: SimServer, client: CircleCIClient
) -> None:
    handed = handoff_of(sim)
    [workflow] = list(client.paginate(f"/pipeline/{handed.upstream.pipeline_id}/workflow"))
    jobs = {job["name"]: job for job in client.paginate(f"/workflow/{workflow['id']}/job")}
    hold, trigger = jobs[HOLD], jobs["trigger"]
    [stored] = stored_for_hold(client, hold, jobs.values())

    def answering(**fields: Any) -> Any:
        return cast(CircleCIClient, _Answering(client, lambda answer: answer.update(fields)))

    for moment in (trigger["started_at"], trigger["stopped_at"]):
        assert verify(answering(created_at=moment), PROJECT_A, workflow, hold, stored).proven, moment
    unknown = verify(answering(trigger=None), PROJECT_A, workflow, hold, stored)
    assert unknown.reason == "B's pipeline was triggered by an unknown trigger, not through the API"
    approval = {**trigger, "type": "approval"}  # a required approval job never stores the handoff
    assert stored_for_hold(client, hold, [approval, *(j for j in jobs.values() if j is not trigger)]) == []
    refused = verify(client, PROJECT_A, workflow, hold, StoredHandoff(approval, stored.handoff))
    assert refused.reason == f"the job trigger (#{trigger['job_number']}) is an approval job, which stores no handoff"
