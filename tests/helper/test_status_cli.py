"""cb-helper status: every workflow counts, --wait settles the race, and the exit status carries the verdict."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cb_helper.retry import RetryPolicy
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


@pytest.mark.parametrize("wait", [True, False])
def test_wait_looks_again_after_a_look_that_failed_every_retry(sim: SimServer, run: Run, wait: bool) -> None:
    """429s in a row spend a look's retries; waiting, the next look gets the verdict; not waiting, exit 3."""
    pid = downstream(sim)
    finish_downstream(sim, pid, {"unit": "success"})
    budget = RetryPolicy().rate_limited_attempts
    sim.faults.add("GET /pipeline/*", "status", status=429, retry_after=0, count=budget)
    options = ["--wait", "--interval", "0.2", "--timeout", "30"] if wait else []
    result = run("status", "--pipeline-id", pid, *options)
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
