"""The circleback end to end: the orb's examples, the packed orb, the real cb-helper, the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from cb_helper.sim import SimServer, SimState
from tests.e2e.circleback import (
    A,
    B,
    approvals,
    billed_while_held,
    canceller,
    describe,
    downstream,
    record_of,
    rehearsal,
    step,
    upstream,
    write_project,
)

HOLD = "wait-for-triggered-pipeline"
CHECK_STEP = "Check the downstream pipeline"
TRIGGER_STEP = "Trigger the downstream pipeline"


@pytest.mark.parametrize("style", ["post-steps", "final-job"])
def test_passing_b_passes_a_and_the_wait_is_not_billed(packed_orb: Path, tmp_path: Path, style: str) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, style), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        a_id = run.start(A)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
        held, billed = billed_while_held(run.state, a_id)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert a.workflow().status == "success", describe(result)
    assert b.workflow().status == "success", describe(result)
    assert list(b.parameters) == ["circleback"]
    assert record_of(b.parameters["circleback"]) == (A, a.id, a.workflow().id, HOLD, B)
    hold = a.job(HOLD)
    assert hold.status == "success"
    assert approved == [a.workflow().id]
    verdict = step(a.job("check-project-b"), CHECK_STEP).output
    assert "success" in verdict
    assert f"released: {B} circled back: success" in verdict
    assert a.hold_seconds(result.elapsed) > 0
    assert result.billable_while_waiting(A) == 0
    # The same from the job times the simulator's API reports: A held, and no A job ran meanwhile.
    assert held > 0
    assert billed == 0


@pytest.mark.parametrize("style", ["post-steps", "final-job"])
def test_failing_b_fails_a_naming_the_failed_job(packed_orb: Path, tmp_path: Path, style: str) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, style), outcome="3"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.workflow().status == "failed"
    assert a.job(HOLD).status == "success"  # B circled back although its tests failed
    check = a.job("check-project-b")
    assert check.status == "failed", describe(result)
    verdict = step(check, CHECK_STEP)
    assert verdict.exit_code == 1
    failed_jobs = [job.name for job in b.workflow().jobs if job.status == "failed"]
    assert failed_jobs
    for name in failed_jobs:
        assert f"failed job: {name}" in verdict.output
    assert a.workflow().status == "failed"


def test_broken_b_fails_the_trigger_before_a_holds(packed_orb: Path, tmp_path: Path) -> None:
    # B does not declare the parameters A passes: CircleCI errors the pipeline with "Unexpected argument(s)".
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "post-steps", declared=False), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.state == "errored"
    assert b.errors == [("config", "Unexpected argument(s): circleback")]
    trigger = a.job("trigger-project-b")
    assert trigger.status == "failed"
    failure = step(trigger, TRIGGER_STEP)
    assert failure.exit_code == 5
    assert "Unexpected argument(s)" in failure.output
    hold = a.job(HOLD)
    assert hold.status == "not_run"
    assert hold.started is None  # never on hold
    assert a.job("check-project-b").status == "not_run"
    assert approved == []


def test_canceled_b_tests_report_canceled_to_a(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="hang"),
    }
    with SimServer(SimState()) as server:
        hook = canceller(server.state, B, {"unit-tests", "integration-tests"})
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert {j.name: j.status for j in b.workflow().jobs} == {
        "unit-tests": "canceled",
        "integration-tests": "canceled",
        "circleback/circle_back": "success",
    }
    assert b.workflow().status == "canceled"
    assert a.job(HOLD).status == "success"
    check = a.job("check-project-b")
    assert check.status == "failed"
    verdict = step(check, CHECK_STEP)
    assert verdict.exit_code == 5, verdict.output
    assert "canceled" in verdict.output


def test_canceled_b_workflow_leaves_a_stuck_on_its_hold(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "post-steps"), outcome="hang"),
    }
    with SimServer(SimState()) as server:
        hook = canceller(server.state, B, {"tests"}, whole_workflow=True)
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            stuck = run.run_until_settled(60)
            assert stuck.outcome == "stuck", describe(stuck)
            a = stuck.pipeline(A)
            assert stuck.waiting == [f"{A} #1 build-and-integrate/{HOLD}"]
            # Someone approves the hold by hand; A's check then reports B as canceled instead of hanging.
            server.state.approve_job(a.workflow().id, a.job(HOLD).id)
            result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    assert result.pipeline(B).workflow().status == "canceled"
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 5, verdict.output
