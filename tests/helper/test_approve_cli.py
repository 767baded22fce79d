"""cb-helper approve: the right workflow, the right job, and refusals that approve nothing."""

from __future__ import annotations

import json
import threading

import pytest

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import NetworkError
from cb_helper.pattern.approve import approve_hold, approve_job
from cb_helper.sim import RequestRecord, SimServer
from cb_helper.sim.server import Exchange
from tests.helper.conftest import HOLD, PROJECT_A, Run, make_upstream


def approvals(sim: SimServer) -> list[RequestRecord]:
    return [r for r in sim.state.request_log if r.method == "POST" and "/approve/" in r.path]


def test_approve_by_workflow_id_takes_exactly_two_calls(sim: SimServer, run: Run) -> None:
    """The job page with the hold, then the approval: the job list names the project, no workflow read."""
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--allow-project", PROJECT_A)
    assert result.code == 0, result.output
    assert sim.state.get_job(upstream.hold_id).status == "success"
    assert [(r.method, r.path) for r in sim.state.request_log] == [
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
    assert result.stderr.count("already approved") == 1
    assert approvals(sim) == []


@pytest.mark.parametrize(("job", "status"), [("check", "blocked"), ("trigger", "success")])
def test_a_build_job_is_refused(sim: SimServer, run: Run, job: str, status: str) -> None:
    """Refused at once, whatever its status: not awaited while blocked, not taken as approved when it passed."""
    upstream = make_upstream(sim)
    assert sim.state.get_job(upstream.jobs[job]).status == status
    result = run("approve", "--job-name", job, "--workflow-id", upstream.workflow_id, "--hold-timeout", "3")
    assert result.code == 3, result.output
    # Only the job page was read (no GET /workflow), so the workflow is named by its id.
    assert f"job {job!r} in workflow {upstream.workflow_id} is a build job, not an approval job" in result.stderr
    assert "waiting" not in result.stderr
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
    refused = run(
        "approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id,
        "--allow-project", "gh/x/y", "--allow-project", "gh/x/z",
    )  # fmt: skip
    assert refused.code == 3
    assert (
        f"workflow {upstream.workflow_id} belongs to project {PROJECT_A}, which is not among the allowed projects "
        "(gh/x/y, gh/x/z); nothing approved"
    ) in refused.stderr
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
    assert (
        f"workflow {upstream.workflow_id} belongs to pipeline {upstream.pipeline_id}, not to pipeline {other.id}; "
        "nothing approved"
    ) in result.stderr
    assert approvals(sim) == []
    same = run(
        "approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--pipeline-id", upstream.pipeline_id
    )
    assert same.code == 0, same.output


def test_a_workflow_id_with_another_workflow_name_is_refused(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, workflow_name="build")
    args = ["approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--workflow-name"]
    refused = run(*args, "nightly")
    assert refused.code == 3, refused.output
    assert f"workflow {upstream.workflow_id} is named 'build', not 'nightly'; nothing approved" in refused.stderr
    assert approvals(sim) == []
    assert run(*args, "build").code == 0


def test_workflow_name_picks_its_workflow_among_several_on_hold(sim: SimServer, run: Run) -> None:
    older = make_upstream(sim, workflow_name="build")
    make_upstream(sim, workflow_name="nightly", pipeline_id=older.pipeline_id)
    result = run("approve", "--job-name", HOLD, "--pipeline-id", older.pipeline_id, "--workflow-name", "build")
    assert result.code == 0, result.output
    assert [r.path for r in approvals(sim)] == [f"/workflow/{older.workflow_id}/approve/{older.hold_id}"]


def test_a_hold_in_another_state_is_refused_naming_it(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, hold_status="unauthorized")
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 3, result.output
    assert (
        f"approval job {HOLD!r} in workflow {upstream.workflow_id} is unauthorized; nothing to approve"
    ) in result.stderr


def test_waiting_follows_a_rerun_that_appears_meanwhile(sim: SimServer, run: Run) -> None:
    """With a pipeline id, the workflows are read again while waiting: a rerun started meanwhile is approved."""
    first = make_upstream(sim, hold_status="blocked")

    def upstream_reruns() -> None:
        sim.state.cancel_workflow(first.workflow_id)
        make_upstream(sim, pipeline_id=first.pipeline_id)

    timer = threading.Timer(1.0, upstream_reruns)
    timer.start()
    try:
        result = run("approve", "--job-name", HOLD, "--pipeline-id", first.pipeline_id, "--hold-timeout", "20")
    finally:
        timer.cancel()
    assert result.code == 0, result.output
    (approval,) = approvals(sim)
    assert first.workflow_id not in approval.path


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
    assert (
        f"approval job {HOLD!r} in workflow {upstream.workflow_id} was still blocked after 1s; nothing approved"
    ) in result.stderr
    assert approvals(sim) == []


def test_a_lost_approval_answer_is_confirmed_by_reading_the_job(sim: SimServer, run: Run) -> None:
    """The approval landed, its answer was lost: the re-sent approval finds it done (409), the job confirms it."""
    upstream = make_upstream(sim)
    sim.faults.add("POST /workflow/*/approve/*", "act_then_fail", count=1)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--json")
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


def test_approve_by_pipeline_id_looks_at_the_rerun_before_the_approved_original(sim: SimServer, run: Run) -> None:
    """The original run's hold was approved; the rerun's hold is still blocked: wait for it, never 'already'."""
    first = make_upstream(sim, hold_status="success")
    rerun = make_upstream(sim, pipeline_id=first.pipeline_id, hold_status="blocked")

    def rerun_trigger_job_finishes() -> None:
        sim.state.set_job_status(rerun.jobs["trigger"], "success")
        sim.state.set_job_status(rerun.hold_id, "on_hold")

    timer = threading.Timer(1.0, rerun_trigger_job_finishes)
    timer.start()
    try:
        result = run(
            "approve", "--job-name", HOLD, "--pipeline-id", first.pipeline_id, "--hold-timeout", "20", "--json"
        )
    finally:
        timer.cancel()
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["workflow_id"], data["outcome"]) == (rerun.workflow_id, "approved")
    assert sim.state.get_job(rerun.hold_id).status == "success"
    assert [r.path for r in approvals(sim)] == [f"/workflow/{rerun.workflow_id}/approve/{rerun.hold_id}"]


def test_a_hold_that_will_not_run_is_reported_as_upstream_stopped(sim: SimServer, run: Run) -> None:
    """A's trigger job failed, so its hold is not_run: B's circle-back reports it and does not fail."""
    upstream = make_upstream(sim, hold_status="blocked")
    sim.state.set_job_status(upstream.jobs["trigger"], "failed")
    sim.state.set_job_status(upstream.hold_id, "not_run")
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--json")
    assert result.code == 0, result.output
    assert (
        f"cb-helper: approval job {HOLD} in workflow {upstream.workflow_id} is not_run: the upstream stopped waiting; "
        "nothing approved\n"
    ) in result.stderr
    data = json.loads(result.stdout)
    assert (data["outcome"], data["approved"], data["already_approved"]) == ("upstream_stopped", False, False)
    assert approvals(sim) == []


def test_approve_json_names_the_workflow_and_the_job_it_approved(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", HOLD, "--pipeline-id", upstream.pipeline_id, "--json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout) == {
        "workflow_id": upstream.workflow_id,
        "workflow_name": "build",
        "pipeline_id": upstream.pipeline_id,
        "project_slug": PROJECT_A,
        "job_id": upstream.hold_id,
        "job_name": HOLD,
        "outcome": "approved",
        "approved": True,
        "already_approved": False,
    }
    again = json.loads(run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--json").stdout)
    assert (again["outcome"], again["approved"], again["already_approved"]) == ("already_approved", True, True)


def test_a_hold_approved_by_someone_else_meanwhile_is_already_approved(sim: SimServer, run: Run) -> None:
    """Between our read of the jobs and our approval, another approver got there first: success, said so."""
    upstream = make_upstream(sim)

    def someone_else_approves(exchange: Exchange) -> None:
        if exchange.method == "GET" and exchange.path.endswith("/job"):
            sim.observers.remove(someone_else_approves)
            sim.state.approve_job(upstream.workflow_id, upstream.hold_id)

    sim.observers.append(someone_else_approves)
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id, "--json")
    assert result.code == 0, result.output
    assert [r.status for r in approvals(sim)] == [409]
    assert f"cb-helper: approval of {HOLD} confirmed by re-reading the job\n" in result.stderr
    data = json.loads(result.stdout)
    assert (data["outcome"], data["job_id"], data["job_name"]) == ("already_approved", upstream.hold_id, HOLD)


def test_an_approval_that_failed_is_not_reported_as_done(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    sim.faults.add("POST /workflow/*/approve/*", "status", status=500, count=20)  # every retry fails too
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 3, result.output
    assert "HTTP 500" in result.stderr
    assert "approved" not in result.stderr.replace("nothing approved", "")
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"


def test_a_workflow_without_jobs_says_it_has_none(sim: SimServer, run: Run) -> None:
    pipeline = sim.state.create_pipeline(PROJECT_A)
    workflow = sim.state.add_workflow(pipeline.id, "build")
    result = run("approve", "--job-name", HOLD, "--workflow-id", workflow.id)
    assert result.code == 3, result.output
    assert f"no job named {HOLD!r} in {workflow.id} (jobs there: none); nothing approved" in result.stderr


def test_a_hold_on_hold_in_an_older_workflow_wins_over_a_newer_approved_one(sim: SimServer, run: Run) -> None:
    """Newest first decides only between holds that wait; an approved hold elsewhere is not "already approved"."""
    waiting = make_upstream(sim, workflow_name="build")
    approved = make_upstream(sim, workflow_name="nightly", pipeline_id=waiting.pipeline_id, hold_status="success")
    result = run("approve", "--job-name", HOLD, "--pipeline-id", waiting.pipeline_id, "--json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["workflow_id"] == waiting.workflow_id
    assert sim.state.get_job(waiting.hold_id).status == "success"
    assert [r.path for r in approvals(sim)] == [f"/workflow/{waiting.workflow_id}/approve/{waiting.hold_id}"]
    assert approved.workflow_id != waiting.workflow_id


def test_a_job_missing_from_every_workflow_names_how_many_were_searched(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, workflow_name="build")
    make_upstream(sim, workflow_name="nightly", pipeline_id=upstream.pipeline_id)
    result = run("approve", "--job-name", "hold", "--pipeline-id", upstream.pipeline_id)
    assert result.code == 3, result.output
    assert f"no job named 'hold' in 2 workflows (jobs there: check, trigger, {HOLD}); nothing approved" in (
        result.stderr
    )


def test_the_library_waits_for_a_blocked_hold_without_a_poller(sim: SimServer, client: CircleCIClient) -> None:
    """approve_hold's own default: poll every 2 s (backing off) for up to 300 s."""
    upstream = make_upstream(sim, hold_status="blocked")

    def upstream_trigger_job_finishes() -> None:
        sim.state.set_job_status(upstream.jobs["trigger"], "success")
        sim.state.set_job_status(upstream.hold_id, "on_hold")

    timer = threading.Timer(1.0, upstream_trigger_job_finishes)
    timer.start()
    try:
        result = approve_hold(client, job_name=HOLD, workflow_id=upstream.workflow_id)
    finally:
        timer.cancel()
    assert result.outcome == "approved"
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_already_approved_is_logged_with_the_job_and_workflow(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, hold_status="success")
    result = run("approve", "--job-name", HOLD, "--workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    assert f"cb-helper: job {HOLD} in workflow {upstream.workflow_id} was already approved\n" in result.stderr


def test_a_pipeline_without_workflows_has_nothing_to_approve(sim: SimServer, run: Run) -> None:
    pipeline = sim.state.create_pipeline(PROJECT_A)
    result = run("approve", "--job-name", HOLD, "--pipeline-id", pipeline.id)
    assert result.code == 3, result.output
    assert result.stderr.strip().endswith(f"pipeline {pipeline.id} has no workflows; nothing to approve")


@pytest.mark.parametrize("narrowed_by", ["--workflow-name", "--workflow-id"])
def test_waiting_stays_on_the_workflow_asked_for(sim: SimServer, run: Run, narrowed_by: str) -> None:
    """While the asked-for hold is blocked, another workflow's hold on_hold is never approved instead."""
    asked = make_upstream(sim, workflow_name="build", hold_status="blocked")
    make_upstream(sim, workflow_name="nightly", pipeline_id=asked.pipeline_id)

    def asked_hold_goes_on_hold() -> None:
        sim.state.set_job_status(asked.jobs["trigger"], "success")
        sim.state.set_job_status(asked.hold_id, "on_hold")

    narrowing = "build" if narrowed_by == "--workflow-name" else asked.workflow_id
    timer = threading.Timer(1.0, asked_hold_goes_on_hold)
    timer.start()
    try:
        result = run("approve", "--job-name", HOLD, "--pipeline-id", asked.pipeline_id, narrowed_by, narrowing,
                     "--hold-timeout", "20")  # fmt: skip
    finally:
        timer.cancel()
    assert result.code == 0, result.output
    assert [r.path for r in approvals(sim)] == [f"/workflow/{asked.workflow_id}/approve/{asked.hold_id}"]


def test_an_approval_that_landed_though_every_answer_was_lost_is_approved(
    sim: SimServer, client: CircleCIClient
) -> None:
    """The first try landed (its answer cut short), every re-send was reset: reading the job shows it approved."""
    upstream = make_upstream(sim)
    attempts = client.retry.max_attempts
    sim.faults.add("POST /workflow/*/approve/*", "truncate", count=1)
    sim.faults.add("POST /workflow/*/approve/*", "drop", count=attempts, after=1)
    workflow = {"id": upstream.workflow_id}
    job = {"id": upstream.hold_id, "name": HOLD, "approval_request_id": upstream.hold_id}
    result = approve_job(client, workflow, job)
    assert (result.outcome, result.job["status"]) == ("approved", "success")
    assert len(approvals(sim)) == attempts
    assert len(sim.state.effects("approve")) == 1


def test_an_approval_no_try_delivered_fails_after_reading_the_hold_still_waits(
    sim: SimServer, client: CircleCIClient
) -> None:
    upstream = make_upstream(sim)
    sim.faults.add("POST /workflow/*/approve/*", "drop", count=client.retry.max_attempts)
    job = {"id": upstream.hold_id, "name": HOLD, "approval_request_id": upstream.hold_id}
    with pytest.raises(NetworkError, match="could not connect or lost the connection"):
        approve_job(client, {"id": upstream.workflow_id}, job)
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"
    assert sim.state.effects("approve") == []


def test_the_approval_is_reported_naming_the_workflow_as_far_as_it_was_read(sim: SimServer, run: Run) -> None:
    """By pipeline the workflows were listed, so the name is known; by workflow id only the jobs were read."""
    first = make_upstream(sim)
    by_pipeline = run("approve", "--job-name", HOLD, "--pipeline-id", first.pipeline_id)
    assert by_pipeline.code == 0, by_pipeline.output
    assert f"approved {HOLD} in workflow 'build' ({first.workflow_id}) of {PROJECT_A}\n" in by_pipeline.stderr
    second = make_upstream(sim)
    by_workflow = run("approve", "--job-name", HOLD, "--workflow-id", second.workflow_id)
    assert by_workflow.code == 0, by_workflow.output
    assert f"approved {HOLD} in workflow {second.workflow_id} of {PROJECT_A}\n" in by_workflow.stderr


def test_a_build_job_found_through_the_pipeline_is_refused_word_for_word(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run("approve", "--job-name", "check", "--pipeline-id", upstream.pipeline_id)
    assert result.code == 3, result.output
    assert result.stderr.strip().endswith(
        f"job 'check' in workflow 'build' ({upstream.workflow_id}) is a build job, not an approval job; "
        "nothing approved"
    )


def test_a_pipeline_of_a_project_outside_the_allow_list_is_refused_before_its_jobs_are_read(
    sim: SimServer, run: Run
) -> None:
    upstream = make_upstream(sim)
    sim.state.clear_request_log()
    refused = run("approve", "--job-name", HOLD, "--pipeline-id", upstream.pipeline_id, "--allow-project", "gh/x/y")
    assert refused.code == 3, refused.output
    assert (
        f"workflow {upstream.workflow_id} belongs to project {PROJECT_A}, which is not among the allowed projects "
        "(gh/x/y); nothing approved"
    ) in refused.stderr
    assert [r.path for r in sim.state.request_log if r.path.endswith("/job")] == []
    assert approvals(sim) == []
