"""cb-helper status: every workflow counts, --wait settles the race, and the exit status carries the verdict."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cb_helper.api.tuning import RATE_LIMIT_BUDGET_ENV
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_B, Run, finish_downstream


def downstream(sim: SimServer) -> str:
    return sim.state.create_pipeline(PROJECT_B, branch="main").id


def test_success_exits_0_and_links_each_workflow(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    wf = finish_downstream(sim, pid, {"unit": "success", "lint": "success"})
    result = run("status", "--pipeline-id", pid)
    assert result.code == 0, result.output
    assert f"workflow test: success  {sim.url}/pipelines/github/acme/project-b/1/workflows/{wf.id}" in result.stdout


def test_failure_exits_1_and_names_the_failed_job(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "failed", "lint": "success"})
    result = run("status", "--pipeline-id", pid)
    assert result.code == 1
    assert "failed job: unit (failed)" in result.stdout
    assert "lint" not in result.stdout


def test_every_workflow_counts_not_just_the_first(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "success"}, workflow="test")
    finish_downstream(sim, pid, {"e2e": "failed"}, workflow="integration")
    result = run("status", "--pipeline-id", pid, "--json")
    assert result.code == 1
    data = json.loads(result.stdout)
    assert data["conclusion"] == "failed"
    assert {w["name"]: w["status"] for w in data["workflows"]} == {"test": "success", "integration": "failed"}


def test_canceled_exits_5(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    wf = finish_downstream(sim, pid, {"unit": "running"})
    sim.state.cancel_workflow(wf.id)
    result = run("status", "--pipeline-id", pid)
    assert result.code == 5
    assert "canceled" in result.stdout


def test_an_errored_pipeline_exits_5_with_its_errors(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    sim.state.mark_pipeline_errored(pid, [("config", "Config does not conform to schema")])
    result = run("status", "--pipeline-id", pid)
    assert result.code == 5
    assert "Config does not conform to schema" in result.stdout
    assert [r.path for r in sim.state.request_log] == [f"/pipeline/{pid}"]  # no workflow to look for


def test_a_rerun_supersedes_the_failed_run(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    first = finish_downstream(sim, pid, {"unit": "failed"})
    rerun = sim.state.rerun_workflow(first.id, from_failed=True)
    for job in sim.state.jobs_of(rerun.id):
        sim.state.set_job_status(job.id, "running")
        sim.state.set_job_status(job.id, "success")
    result = run("status", "--pipeline-id", pid)
    assert result.code == 0, result.output
    assert "superseded by a rerun" in result.stdout
    data = json.loads(run("status", "--pipeline-id", pid, "--json").stdout)
    assert [(w["superseded"], w["status"], w["failed_jobs"]) for w in data["workflows"]] == [
        (False, "success", []),
        (True, "failed", []),  # its jobs are not read: the rerun speaks for it
    ]
    assert not any(r.path == f"/workflow/{first.id}/job" for r in sim.state.request_log)


def test_still_running_without_wait_exits_4(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "running"})
    result = run("status", "--pipeline-id", pid)
    assert result.code == 4
    assert "still running" in result.stderr


def test_wait_settles_the_race_with_the_downstreams_last_job(sim: SimServer, run: Run, tmp_path: Path) -> None:
    """B circles back from inside a still-running job; a check that reads at once would see `running`."""
    pid = downstream(sim)
    wf = finish_downstream(sim, pid, {"unit": "success", "circle-back": "running"})
    (tmp_path / "id").write_text(pid + "\n")
    last = next(j for j in sim.state.jobs_of(wf.id) if j.name == "circle-back")
    timer = threading.Timer(1.0, sim.state.set_job_status, args=(last.id, "success"))
    timer.start()
    try:
        result = run("status", "--id-file", str(tmp_path / "id"), "--wait", "--interval", "0.2", "--timeout", "30")
    finally:
        timer.cancel()
    assert result.code == 0, result.output
    assert "waiting for pipeline" in result.stderr
    assert "workflow test: success" in result.stdout


def test_a_wait_reads_the_pipeline_once_and_the_failed_jobs_once(sim: SimServer, run: Run) -> None:
    """Polls read only the workflows; the pipeline (created) and the failed jobs are read once each."""
    pid = downstream(sim)
    wf = finish_downstream(sim, pid, {"unit": "failed", "lint": "running"})
    lint = next(j for j in sim.state.jobs_of(wf.id) if j.name == "lint")
    timer = threading.Timer(1.0, sim.state.set_job_status, args=(lint.id, "success"))
    timer.start()
    try:
        result = run("status", "--pipeline-id", pid, "--wait", "--interval", "0.2", "--timeout", "30")
    finally:
        timer.cancel()
    assert result.code == 1, result.output
    assert "failed job: unit (failed)" in result.stdout
    paths = [r.path for r in sim.state.request_log]
    assert paths.count(f"/pipeline/{pid}") == 1
    assert paths.count(f"/pipeline/{pid}/workflow") >= 2  # it did poll
    assert paths.count(f"/workflow/{wf.id}/job") == 1
    assert paths[-1].endswith("/tests")  # then B's test results are read, for its failing tests
    assert [p for p in paths if not p.endswith("/tests")][-1] == f"/workflow/{wf.id}/job"  # after the last poll


@pytest.mark.parametrize("wait", [True, False])
def test_wait_looks_again_after_a_look_that_failed_every_retry(sim: SimServer, run: Run, wait: bool) -> None:
    """429s past the rate-limit budget end a look; waiting, a later look gets the verdict; not waiting, exit 3."""
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "success"})
    sim.faults.add("GET /pipeline/*", "status", status=429, retry_after=0, seconds=3)
    options = ["--wait", "--interval", "0.2", "--timeout", "30"] if wait else []
    result = run("status", "--pipeline-id", pid, *options, env={RATE_LIMIT_BUDGET_ENV: "1"})
    assert result.code == (0 if wait else 3), result.output
    assert ("looking again" in result.stderr) == wait
    assert ("workflow test: success" in result.stdout) == wait


def test_wait_gives_up_at_the_timeout(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "running"})
    result = run("status", "--pipeline-id", pid, "--wait", "--interval", "0.2", "--timeout", "1")
    assert result.code == 4
    assert "not finished after 1s" in result.stderr


def test_a_pipeline_with_no_workflows_is_not_success(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    result = run("status", "--pipeline-id", pid)
    assert result.code == 4
    assert "no workflows yet" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "exactly one of"),
        (["--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--id-file", "x"], "exactly one of"),
        (["--id-file", "/nonexistent/id"], "'/nonexistent/id'"),
        (["--pipeline-id", "null"], "'null'"),
        (["--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--timeout", "-1"], "--timeout"),
    ],
)
def test_bad_input_sends_nothing(sim: SimServer, run: Run, args: list[str], needle: str) -> None:
    result = run("status", *args)
    assert result.code == 2, result.output
    assert needle in result.stderr
    assert sim.state.request_log == []


def test_an_id_file_holding_null_is_refused(sim: SimServer, run: Run, tmp_path: Path) -> None:
    (tmp_path / "id").write_text("null\n")
    result = run("status", "--id-file", str(tmp_path / "id"))
    assert result.code == 2
    assert "'null'" in result.stderr


@pytest.mark.parametrize(
    ("jobs", "errored", "workflow_status", "code"),
    [
        ({"unit": "success"}, True, "error", 1),
        ({"deploy": "unauthorized"}, False, "unauthorized", 1),
        ({"unit": "failed", "lint": "running"}, False, "failing", 1),
        ({"unit": "not_run", "lint": "not_run"}, False, "not_run", 5),
    ],
)
def test_every_unsuccessful_workflow_status_has_its_exit_status(
    sim: SimServer, run: Run, jobs: dict[str, str], errored: bool, workflow_status: str, code: int
) -> None:
    """The README's exit table: error, failing and unauthorized exit 1; not_run exits 5; none of them is success."""
    pid = downstream(sim)
    finish_downstream(sim, pid, {"lint": "success"}, workflow="lint")
    wf = finish_downstream(sim, pid, jobs)
    if errored:
        sim.state.mark_workflow_errored(wf.id)
    assert sim.state.get_workflow(wf.id).status == workflow_status
    result = run("status", "--pipeline-id", pid, "--json")
    assert result.code == code, result.output
    data = json.loads(result.stdout)
    assert data["conclusion"] == ("failed" if code == 1 else "canceled")
    assert data["exit_status"] == code


def test_wait_waits_for_every_workflow_not_the_first_terminal_one(sim: SimServer, run: Run) -> None:
    """One workflow has passed, another still runs and then fails: the verdict is the failure, not an early pass."""
    pid = downstream(sim)
    finish_downstream(sim, pid, {"lint": "success"}, workflow="lint")
    slow = finish_downstream(sim, pid, {"e2e": "running"}, workflow="e2e")
    (job,) = sim.state.jobs_of(slow.id)
    timer = threading.Timer(1.0, sim.state.set_job_status, args=(job.id, "failed"))
    timer.start()
    try:
        result = run("status", "--pipeline-id", pid, "--wait", "--interval", "0.2", "--timeout", "30")
    finally:
        timer.cancel()
    assert result.code == 1, result.output
    assert "workflow e2e: failed" in result.stdout
    assert "failed job: e2e (failed)" in result.stdout


def test_status_json_reports_every_field(sim: SimServer, run: Run) -> None:
    pid = downstream(sim)
    failed = finish_downstream(sim, pid, {"unit": "failed", "lint": "success"})
    held = sim.state.add_workflow(pid, "deploy")
    build = sim.state.add_job(held.id, "build", status="running")
    sim.state.set_job_status(build.id, "success")
    hold = sim.state.add_job(held.id, "hold", type="approval", requires={build.id: ["success"]})
    sim.state.set_job_status(hold.id, "on_hold")
    result = run("status", "--pipeline-id", pid, "--json")
    assert result.code == 1, result.output
    data = json.loads(result.stdout)
    stops = [workflow.pop("stopped_at") for workflow in data["workflows"]]
    assert stops[0] is None  # on hold: not stopped
    stopped = sim.state.get_workflow(failed.id).stopped_at
    assert stopped is not None
    assert stops[1] == stopped.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # as the API sends it
    base = f"{sim.url}/pipelines/github/acme/project-b/1/workflows"
    assert data == {
        "pipeline_id": pid,
        "number": 1,
        "project_slug": PROJECT_B,
        "state": "created",
        "conclusion": "failed",
        "exit_status": 1,
        "errors": [],
        "workflows": [
            {
                "id": held.id, "name": "deploy", "status": "on_hold", "url": f"{base}/{held.id}",
                "failed_jobs": [], "failed_job_urls": [], "waiting_jobs": ["hold"], "superseded": False,
            },
            {
                "id": failed.id, "name": "test", "status": "failed", "url": f"{base}/{failed.id}",
                "failed_jobs": ["unit (failed)"], "failed_job_urls": [f"{base}/{failed.id}/jobs/1"], "waiting_jobs": [],
                "superseded": False,
            },
        ],
    }  # fmt: skip
