"""SimState: records, transitions, derived workflow statuses and events, without HTTP."""

from __future__ import annotations

import dataclasses
import datetime
import typing
from typing import Optional

import pytest

from cb_helper.api.errors import BadInput
from cb_helper.sim import SimEvent, SimState
from cb_helper.sim.derive import workflow_status
from cb_helper.sim.model import Job, Pipeline
from cb_helper.sim.state import ApprovalRefused

SLUG = "gh/acme/project-b"
_IMMUTABLE = {str, int, bool, datetime.datetime, Optional[str], Optional[int], Optional[datetime.datetime]}


@pytest.fixture
def state() -> SimState:
    s = SimState()
    s.add_token("t0")
    s.add_project(SLUG, branches=("main", "dev"))
    return s


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        (["success", "success"], "success"),
        (["success", "running"], "running"),
        (["success", "queued"], "running"),
        (["success", "on_hold", "blocked"], "on_hold"),
        (["running", "on_hold"], "running"),
        (["failed", "running"], "failing"),
        (["failed", "on_hold"], "failing"),
        (["failed", "success"], "failed"),
        (["timedout", "success"], "failed"),
        (["infrastructure_fail"], "failed"),
        (["unauthorized", "success"], "unauthorized"),
        (["unauthorized", "failed"], "failed"),
        (["canceled", "success"], "canceled"),
        (["failed", "canceled"], "failed"),
        (["not_run", "not_run"], "not_run"),
        (["success", "not_run"], "success"),
        (["blocked"], "running"),
        ([], "running"),
    ],
)
def test_workflow_status_is_derived_from_jobs(jobs: list[str], expected: str) -> None:
    assert workflow_status(jobs) == expected


def test_a_canceled_or_errored_flag_outranks_job_statuses() -> None:
    assert workflow_status(["success", "canceled"], canceled=True) == "canceled"
    assert workflow_status(["failed"], canceled=True) == "canceled"
    assert workflow_status(["success"], errored=True) == "error"


def test_a_job_moves_forward_and_gets_its_number_when_it_runs(state: SimState) -> None:
    pipeline = state.create_pipeline(SLUG)
    workflow = state.add_workflow(pipeline.id, "tests")
    first = state.add_job(workflow.id, "build")
    second = state.add_job(workflow.id, "test", requires={first.id: ["success"]})
    assert first.job_number is None
    assert first.started_at is None
    running = state.set_job_status(first.id, "running")
    assert running.job_number == 1
    assert running.started_at is not None
    assert running.stopped_at is None
    assert state.workflow_status(workflow.id) == "running"
    done = state.set_job_status(first.id, "success")
    assert done.job_number == 1
    assert done.stopped_at is not None
    assert state.set_job_status(second.id, "failed").job_number == 2
    assert state.get_job(second.id).dependencies == [first.id]
    assert state.workflow_status(workflow.id) == "failed"
    assert state.get_workflow(workflow.id).stopped_at is not None


@pytest.mark.parametrize(
    ("job_type", "path", "bad"),
    [
        ("build", ["running", "success"], "running"),
        ("build", ["running"], "queued"),
        ("build", [], "on_hold"),
        ("build", [], "no-such-status"),
        ("approval", [], "running"),
        ("approval", ["on_hold", "success"], "on_hold"),
        ("build", ["canceled"], "running"),
    ],
)
def test_impossible_transitions_raise(state: SimState, job_type: str, path: list[str], bad: str) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "w")
    job = state.add_job(workflow.id, "j", type=job_type)
    for status in path:
        state.set_job_status(job.id, status)
    with pytest.raises(ValueError, match=bad):
        state.set_job_status(job.id, bad)


def test_an_approval_job_holds_the_workflow_until_approved(state: SimState) -> None:
    events: list[SimEvent] = []
    state.add_listener(events.append)
    pipeline = state.create_pipeline(SLUG)
    workflow = state.add_workflow(pipeline.id, "build")
    trigger = state.add_job(workflow.id, "trigger", status="success")
    hold = state.add_job(workflow.id, "hold", type="approval", requires={trigger.id: ["success"]})
    check = state.add_job(workflow.id, "check", requires={hold.id: ["success"]})
    state.set_job_status(hold.id, "on_hold")
    assert state.workflow_status(workflow.id) == "on_hold"
    assert hold.approval_request_id == hold.id
    approved = state.approve_job(workflow.id, hold.id)
    assert approved.status == "success"
    assert approved.approved_by is not None
    assert approved.job_number is None  # approval jobs never get a job number
    # Approving unblocks nothing by itself: the driver moves the next job.
    assert state.get_job(check.id).status == "blocked"
    assert state.workflow_status(workflow.id) == "running"
    assert events == [SimEvent("job_approved", pipeline.id, workflow.id, hold.id)]


def test_approval_refusals(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "build")
    build = state.add_job(workflow.id, "build", status="running")
    hold = state.add_job(workflow.id, "hold", type="approval")
    other = state.add_workflow(state.create_pipeline(SLUG).id, "other")
    with pytest.raises(ApprovalRefused) as not_on_hold:
        state.approve_job(workflow.id, hold.id)
    assert not_on_hold.value.status == 400
    with pytest.raises(ApprovalRefused) as not_approval:
        state.approve_job(workflow.id, build.id)
    assert not_approval.value.status == 400
    with pytest.raises(ApprovalRefused) as elsewhere:
        state.approve_job(other.id, hold.id)
    assert elsewhere.value.status == 404
    state.set_job_status(hold.id, "on_hold")
    state.approve_job(workflow.id, hold.id)
    with pytest.raises(ApprovalRefused) as twice:
        state.approve_job(workflow.id, hold.id)
    assert twice.value.status == 409
    with pytest.raises(KeyError):
        state.approve_job("nope", hold.id)


def test_cancel_cancels_every_pending_job_and_fires_once(state: SimState) -> None:
    events: list[SimEvent] = []
    state.add_listener(events.append)
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "build")
    done = state.add_job(workflow.id, "done", status="success")
    running = state.add_job(workflow.id, "running", status="running")
    hold = state.add_job(workflow.id, "hold", type="approval", status="on_hold")
    canceled = state.cancel_workflow(workflow.id)
    assert canceled.status == "canceled"
    assert canceled.canceled_by is not None
    assert [j.status for j in state.jobs_of(workflow.id)] == ["success", "canceled", "canceled"]
    assert state.get_job(done.id).status == "success"
    assert state.get_job(running.id).job_number == 2
    assert state.get_job(hold.id).status == "canceled"
    state.cancel_workflow(workflow.id)  # nothing left to cancel
    assert [e.kind for e in events] == ["workflow_canceled"]


def test_jobs_canceled_with_their_workflow_name_who_canceled_them(state: SimState) -> None:
    canceler = state.add_token("t-cancel")
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "build")
    done = state.add_job(workflow.id, "done", status="success")
    running = state.add_job(workflow.id, "running", status="running")
    state.cancel_workflow(workflow.id, canceled_by=canceler.id)
    assert state.get_job(running.id).canceled_by == canceler.id
    assert state.get_job(done.id).canceled_by is None
    assert state.get_workflow(workflow.id).canceled_by == canceler.id


def test_rerun_from_failed_reruns_failed_jobs_and_their_dependents(state: SimState) -> None:
    events: list[SimEvent] = []
    state.add_listener(events.append)
    pipeline = state.create_pipeline(SLUG)
    workflow = state.add_workflow(pipeline.id, "tests")
    lint = state.add_job(workflow.id, "lint", status="success")
    unit = state.add_job(workflow.id, "unit", status="failed")
    report = state.add_job(workflow.id, "report", requires={unit.id: ["success"]}, status="not_run")
    fresh = state.rerun_workflow(workflow.id, from_failed=True)
    assert fresh.name == "tests"
    assert fresh.pipeline_id == pipeline.id
    assert fresh.id != workflow.id
    jobs = {j.name: j for j in state.jobs_of(fresh.id)}
    assert jobs["lint"].status == "success"
    assert jobs["lint"].job_number == lint.job_number
    assert jobs["unit"].status == "blocked"
    assert jobs["unit"].job_number is None
    assert jobs["report"].status == "blocked"
    assert jobs["report"].dependencies == [jobs["unit"].id]
    assert {j.id for j in jobs.values()}.isdisjoint({lint.id, unit.id, report.id})
    assert [w.id for w in state.workflows_of(pipeline.id)] == [fresh.id, workflow.id]  # newest first
    assert events == [SimEvent("workflow_rerun", pipeline.id, workflow.id, data={"new_workflow_id": fresh.id})]
    assert state.workflow_status(workflow.id) == "failed"  # the old workflow is untouched


def test_full_rerun_and_rerun_of_chosen_jobs(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "tests")
    a = state.add_job(workflow.id, "a", status="success")
    b = state.add_job(workflow.id, "b", status="success", requires={a.id: ["success"]})
    c = state.add_job(workflow.id, "c", status="success")
    full = state.rerun_workflow(workflow.id)
    assert [j.status for j in state.jobs_of(full.id)] == ["blocked"] * 3
    chosen = state.rerun_workflow(workflow.id, jobs=[a.id])
    assert [j.status for j in state.jobs_of(chosen.id)] == ["blocked", "blocked", "success"]
    with pytest.raises(ValueError, match="mutually exclusive"):
        state.rerun_workflow(workflow.id, from_failed=True, jobs=[b.id])
    with pytest.raises(ValueError, match="not a job"):
        state.rerun_workflow(workflow.id, jobs=[c.id + "x"])


def test_errored_pipeline_and_workflow(state: SimState) -> None:
    pipeline = state.create_pipeline(SLUG, state="setup-pending")
    assert state.set_pipeline_state(pipeline.id, "created").state == "created"
    errored = state.mark_pipeline_errored(pipeline.id, [("config", "Unexpected argument(s): x")])
    assert errored.state == "errored"
    assert errored.errors == [("config", "Unexpected argument(s): x")]
    assert state.workflows_of(pipeline.id) == []
    with pytest.raises(ValueError, match="'nonsense'"):
        state.mark_pipeline_errored(pipeline.id, [("nonsense", "x")])
    with pytest.raises(ValueError, match="'finished'"):
        state.set_pipeline_state(pipeline.id, "finished")
    workflow = state.add_workflow(pipeline.id, "w")
    job = state.add_job(workflow.id, "j")
    assert state.mark_workflow_errored(workflow.id).status == "error"
    assert state.get_job(job.id).status == "not_run"


def test_pipelines_are_numbered_per_project_and_record_their_trigger(state: SimState) -> None:
    state.add_project("gh/acme/other")
    first = state.create_pipeline(SLUG, parameters={"run-tests": True})
    second = state.create_pipeline(SLUG, tag="v1.0")
    other = state.create_pipeline("gh/acme/other")
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.parameters == {"run-tests": True}
    assert first.trigger_parameters == first.parameters
    assert first.branch == "main"
    assert second.branch is None
    assert second.tag == "v1.0"
    assert [p.number for p in state.pipelines_of(SLUG)] == [2, 1]
    assert [p.number for p in state.pipelines_of("github/acme/project-b", branch="main")] == [1]
    with pytest.raises(ValueError, match="mutually exclusive"):
        state.create_pipeline(SLUG, branch="main", tag="v1")
    with pytest.raises(KeyError):
        state.create_pipeline("gh/acme/unknown")


def test_snapshots_are_copies(state: SimState) -> None:
    pipeline = state.create_pipeline(SLUG, parameters={"a": 1})
    pipeline.parameters["a"] = 2
    workflow = state.add_workflow(pipeline.id, "w")
    job = state.add_job(workflow.id, "j")
    job.status = "success"
    assert state.get_pipeline(pipeline.id).parameters == {"a": 1}
    assert state.get_job(job.id).status == "blocked"
    with pytest.raises(KeyError):
        state.get_workflow("missing")


def test_job_snapshots_share_nothing_mutable_with_the_state(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "w")
    first = state.add_job(workflow.id, "a", status="running")
    second = state.add_job(workflow.id, "b", requires={first.id: ["success"]})
    snapshot = state.jobs_of(workflow.id)[1]
    snapshot.dependencies.append("other")
    snapshot.requires[first.id].append("failed")
    snapshot.requires["other"] = ["success"]
    fresh = state.get_job(second.id)
    assert (fresh.dependencies, fresh.requires) == ([first.id], {first.id: ["success"]})
    # The cheap copy relies on every other field being immutable; a new mutable field must extend it.
    hints = typing.get_type_hints(Job)
    mutable = [f.name for f in dataclasses.fields(Job) if hints[f.name] not in _IMMUTABLE]
    assert sorted(mutable) == ["dependencies", "requires"]


def test_a_page_of_jobs_copies_only_that_page(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "w")
    jobs = [state.add_job(workflow.id, f"j{i}") for i in range(5)]
    page, total = state.jobs_page(workflow.id, 3, 2)
    assert ([j.id for j in page], total) == ([jobs[3].id, jobs[4].id], 5)
    assert state.jobs_page(workflow.id, 5, 2) == ([], 5)
    assert [j.id for j in state.jobs_of(workflow.id)] == [j.id for j in jobs]


def test_pipeline_snapshots_share_nothing_mutable_with_the_state(state: SimState) -> None:
    created = state.create_pipeline(SLUG, parameters={"nested": {"a": [1]}}, run_request={"config": {"branch": "x"}})
    state.mark_pipeline_errored(created.id, [("config", "broken")])
    (snapshot,) = state.pipelines_of(SLUG)
    snapshot.parameters["nested"]["a"].append(2)
    snapshot.run_request["config"]["branch"] = "y"
    snapshot.errors.append(("other", "x"))
    fresh = state.get_pipeline(created.id)
    assert fresh.parameters == {"nested": {"a": [1]}}
    assert fresh.run_request == {"config": {"branch": "x"}}
    assert fresh.errors == [("config", "broken")]
    hints = typing.get_type_hints(Pipeline)
    mutable = [f.name for f in dataclasses.fields(Pipeline) if hints[f.name] not in _IMMUTABLE]
    assert sorted(mutable) == ["errors", "parameters", "run_request"]


def test_a_page_of_pipelines_copies_only_that_page(state: SimState) -> None:
    for branch in ("main", "dev", "main", "main"):
        state.create_pipeline(SLUG, branch=branch)
    page, total = state.pipelines_page(SLUG, 1, 2)
    assert ([p.number for p in page], total) == ([3, 2], 4)
    page, total = state.pipelines_page(SLUG, 1, 5, branch="main")
    assert ([p.number for p in page], total) == ([3, 1], 3)


def test_only_http_triggers_announce_themselves(state: SimState) -> None:
    events: list[SimEvent] = []
    state.add_listener(events.append)
    state.create_pipeline(SLUG)
    assert events == []
    triggered = state.trigger_pipeline(SLUG, branch="dev")
    assert events == [SimEvent("pipeline_triggered", triggered.id, data={"project_slug": SLUG})]


def test_add_job_checks_its_arguments(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "w")
    job = state.add_job(workflow.id, "a")
    with pytest.raises(ValueError, match="'deploy'"):
        state.add_job(workflow.id, "b", type="deploy")
    with pytest.raises(ValueError, match="not a job of workflow"):
        state.add_job(workflow.id, "b", requires={"elsewhere": ["success"]})
    with pytest.raises(ValueError, match="expected a non-empty list"):
        state.add_job(workflow.id, "b", requires={job.id: ["sometimes"]})
    with pytest.raises(BadInput, match="malformed"):
        state.add_project("not-a-slug")


def test_project_access_follows_tokens(state: SimState) -> None:
    state.add_token("t1")
    state.add_project("gh/acme/private", tokens=["t1"])
    assert state.can_access("t1", "gh/acme/private")
    assert not state.can_access("t0", "gh/acme/private")
    assert state.can_access("t0", SLUG)
    assert state.can_access("t1", SLUG)
    assert not state.can_access("unknown", SLUG)
    assert not state.can_access(None, SLUG)


def test_artifacts_and_tests_belong_to_a_job_number(state: SimState) -> None:
    workflow = state.add_workflow(state.create_pipeline(SLUG).id, "w")
    job = state.set_job_status(state.add_job(workflow.id, "j").id, "running")
    assert job.job_number is not None
    assert state.artifacts_of(SLUG, job.job_number) == []
    assert state.artifacts_of(SLUG, 999) is None
    state.add_artifact(SLUG, job.job_number, "report.html")
    state.add_test_result(SLUG, job.job_number, name="t", classname="c", result="success")
    (artifact,) = state.artifacts_of(SLUG, job.job_number) or []
    assert artifact.path == "report.html"
    assert artifact.url.endswith("/report.html")
    (result,) = state.tests_of(SLUG, job.job_number) or []
    assert (result.name, result.result, result.message) == ("t", "success", "")
