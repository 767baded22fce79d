"""cb-helper approve: the right workflow, the right job, and refusals that approve nothing."""

from __future__ import annotations

import json
import threading

import pytest

from cb_helper.sim import RequestRecord, SimServer
from tests.helper.conftest import HOLD, PROJECT_A, Run, make_upstream


def approvals(sim: SimServer) -> list[RequestRecord]:
    return [r for r in sim.state.request_log if r.method == "POST" and "/approve/" in r.path]


def test_approve_by_workflow_id_takes_exactly_three_calls(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    assert sim.state.get_job(upstream.hold_id).status == "success"
    assert [(r.method, r.path) for r in sim.state.request_log] == [
        ("GET", f"/workflow/{upstream.workflow_id}"),
        ("GET", f"/workflow/{upstream.workflow_id}/job"),
        ("POST", f"/workflow/{upstream.workflow_id}/approve/{upstream.hold_id}"),
    ]
    assert f"approved {HOLD}" in result.stderr


def test_approve_by_pipeline_id_picks_the_rerun_workflow_on_hold(sim: SimServer, run: Run) -> None:
    first = make_upstream(sim, hold_status="on_hold")
    sim.state.cancel_workflow(first.workflow_id)
    rerun = make_upstream(sim, pipeline_id=first.pipeline_id)
    result = run("approve", "--job-name", HOLD, "--pipeline-id", first.pipeline_id, "--json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["workflow_id"] == rerun.workflow_id
    assert sim.state.get_job(rerun.hold_id).status == "success"
    assert sim.state.get_job(first.hold_id).status == "canceled"


def test_approve_never_takes_items0_blindly(sim: SimServer, run: Run) -> None:
    """Two workflows in A's pipeline, only the second holds the job on_hold."""
    upstream = make_upstream(sim, workflow_name="deploy")
    other = sim.state.add_workflow(upstream.pipeline_id, "lint")
    sim.state.add_job(other.id, "lint", status="running")
    result = run("approve", "--job-name", HOLD, "--pipeline-id", upstream.pipeline_id)
    assert result.code == 0, result.output
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_workflow_name_narrows_the_choice(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, workflow_name="deploy")
    result = run("approve", "--job-name", HOLD, "--pipeline-id", upstream.pipeline_id, "--workflow-name", "nightly")
    assert result.code == 3
    assert "no workflow named 'nightly'" in result.stderr
    assert "deploy" in result.stderr
    assert approvals(sim) == []


def test_the_job_is_found_on_a_later_page(sim: SimServer, run: Run) -> None:
    sim.state.page_size = 3
    upstream = make_upstream(sim, extra_jobs=[f"build-{i}" for i in range(10)])
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    job_pages = [r for r in sim.state.request_log if r.path.endswith("/job")]
    assert len(job_pages) == 4
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_already_approved_is_success_and_sends_no_approval(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    sim.state.approve_job(upstream.workflow_id, upstream.hold_id)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0
    assert "already approved" in result.stderr
    assert approvals(sim) == []


def test_a_build_job_is_refused(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", "check", "--workflow-id", upstream.workflow_id)
    assert result.code == 3
    assert "not an approval job" in result.stderr
    assert approvals(sim) == []


def test_a_missing_job_lists_the_names_that_exist(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", "hold", "--workflow-id", upstream.workflow_id)
    assert result.code == 3
    assert "no job named 'hold'" in result.stderr
    assert f"check, trigger, {HOLD}" in result.stderr
    assert approvals(sim) == []


def test_a_project_outside_the_allow_list_is_refused(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    refused = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--allow-project", "gh/x/y")
    assert refused.code == 3
    assert "not among the allowed projects" in refused.stderr
    assert approvals(sim) == []
    allowed = run(
        "approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--allow-project", "github/acme/project-a"
    )
    assert allowed.code == 0, allowed.output


def test_workflow_and_pipeline_must_agree(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    other = sim.state.create_pipeline(PROJECT_A)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--pipeline-id", other.id)
    assert result.code == 3
    assert "belongs to pipeline" in result.stderr
    assert approvals(sim) == []


def test_a_blocked_hold_is_awaited_until_it_is_on_hold(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, hold_status="blocked")

    def upstream_trigger_job_finishes() -> None:
        sim.state.set_job_status(upstream.jobs["trigger"], "success")
        sim.state.set_job_status(upstream.hold_id, "on_hold")

    timer = threading.Timer(1.0, upstream_trigger_job_finishes)
    timer.start()
    try:
        result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--hold-timeout", "20")
    finally:
        timer.cancel()
    assert result.code == 0, result.output
    assert "waiting until it is on hold" in result.stderr
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_a_hold_that_stays_blocked_times_out(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, hold_status="blocked")
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--hold-timeout", "1")
    assert result.code == 4
    assert approvals(sim) == []


def test_a_lost_approval_answer_is_confirmed_by_reading_the_job(sim: SimServer, run: Run) -> None:
    """The approval landed, its answer was lost: the re-sent approval finds it done (409), the job confirms it."""
    upstream = make_upstream(sim)
    sim.faults.add("POST /workflow/*/approve/*", "act_then_fail", count=1)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    assert [r.status for r in approvals(sim)] == [502, 409]
    assert len(sim.state.effects("approve")) == 1
    assert sim.state.get_job(upstream.hold_id).status == "success"


@pytest.mark.parametrize("kind", ["drop", "status"])
def test_an_approval_the_server_never_received_is_sent_again(sim: SimServer, run: Run, kind: str) -> None:
    """A reset or a gateway error before the approval landed: the hold is still on hold, so it is sent again."""
    upstream = make_upstream(sim)
    sim.faults.add("POST /workflow/*/approve/*", kind, status=504 if kind == "status" else None, count=1)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    assert [r.status for r in approvals(sim)] == [504 if kind == "status" else 0, 202]
    assert len(sim.state.effects("approve")) == 1
    assert sim.state.get_job(upstream.hold_id).status == "success"


@pytest.mark.parametrize("ids", [[], ["--workflow-id", ""], ["--workflow-id", " ", "--pipeline-id", ""]])
def test_if_triggered_without_ids_does_nothing(sim: SimServer, run: Run, ids: list[str]) -> None:
    result = run("approve", "--job-name", HOLD, "--if-triggered", *ids, "--json", env={"CIRCLE_TOKEN": None})
    assert result.code == 0
    assert "not triggered by an upstream" in result.stderr
    assert json.loads(result.stdout)["outcome"] == "not_triggered"
    assert sim.state.request_log == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--job-name", HOLD], "--workflow-id or --pipeline-id"),
        (["--job-name", HOLD, "--workflow-id", "null"], "'null'"),
        (["--job-name", HOLD, "--pipeline-id", "123"], "'123'"),
        (["--job-name", " ", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b"], "--job-name"),
        (["--job-name", HOLD, "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--allow-project", "x"], "'x'"),
    ],
)
def test_bad_input_sends_nothing(sim: SimServer, run: Run, args: list[str], needle: str) -> None:
    result = run("approve", *args)
    assert result.code == 2, result.output
    assert needle in result.stderr
    assert sim.state.request_log == []


def test_a_canceled_upstream_is_reported_without_failing_the_downstream(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    sim.state.cancel_workflow(upstream.workflow_id)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--json")
    assert result.code == 0, result.output
    assert "the upstream stopped waiting; nothing approved" in result.stderr
    data = json.loads(result.stdout)
    assert (data["outcome"], data["approved"]) == ("upstream_stopped", False)
    assert approvals(sim) == []
