"""workflows / jobs / cancel, the token never shown, and a light start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cb_helper.api.tuning import READ_TIMEOUT_ENV as READ
from cb_helper.sim import SimEvent, SimServer
from tests.helper.conftest import HOLD, PROJECT_B, SENTINEL, Run, finish_downstream, make_upstream


def test_jobs_with_the_seeds_jq_expression(sim: SimServer, run: Run) -> None:
    sim.state.page_size = 2
    upstream = make_upstream(sim, extra_jobs=["a", "b", "c"])
    result = run("jobs", "--workflow-id", upstream.workflow_id, "--jq", f'.[] | select(.name == "{HOLD}") | .id')
    assert result.code == 0, result.output
    assert result.stdout == upstream.hold_id + "\n"


def test_workflows_prints_all_pages_as_one_array(sim: SimServer, run: Run) -> None:
    sim.state.page_size = 1
    pid = sim.state.create_pipeline(PROJECT_B).id
    for name in ("one", "two", "three"):
        finish_downstream(sim, pid, {"x": "success"}, workflow=name)
    result = run("workflows", "--pipeline-id", pid)
    assert result.code == 0
    assert sorted(w["name"] for w in json.loads(result.stdout)) == ["one", "three", "two"]
    numbers = run("workflows", "--pipeline-id", pid, "--jq", "[.[].pipeline_number] | unique")
    assert numbers.stdout == "[1]\n"


def test_jq_without_the_jq_package_is_a_usage_error_before_any_call(
    sim: SimServer, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orb installs the jq binding only on request; without it --jq says what is missing."""
    monkeypatch.setitem(sys.modules, "jq", None)  # import jq raises ImportError
    result = run("jobs", "--workflow-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--jq", ".[].id")
    assert result.code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "needs the jq Python package" in result.stderr
    assert sim.state.request_log == []


def test_a_bad_jq_expression_is_a_usage_error_before_any_call(sim: SimServer, run: Run) -> None:
    result = run("jobs", "--workflow-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--jq", ".[")
    assert result.code == 2
    assert "not a valid jq program" in result.stderr
    assert sim.state.request_log == []


def test_cancel_stops_only_what_still_runs(sim: SimServer, run: Run) -> None:
    """Finished workflows are skipped, and so is nothing after them (the list is newest first)."""
    pid = sim.state.create_pipeline(PROJECT_B).id
    older = finish_downstream(sim, pid, {"x": "running"}, workflow="older")
    done = finish_downstream(sim, pid, {"x": "success"}, workflow="done")
    busy = finish_downstream(sim, pid, {"x": "running"}, workflow="busy")
    result = run("cancel", "--pipeline-id", pid)
    assert result.code == 0, result.output
    assert sorted(result.stdout.split()) == sorted([busy.id, older.id])
    assert sim.state.get_workflow(busy.id).status == "canceled"
    assert sim.state.get_workflow(older.id).status == "canceled"
    assert sim.state.get_workflow(done.id).status == "success"


def test_a_cancel_whose_answer_was_lost_is_re_sent_and_the_second_one_changes_nothing(sim: SimServer, run: Run) -> None:
    """Cancel is idempotent, so unlike a trigger it is re-sent after a 5xx; the re-send must not alter anything."""
    pid = sim.state.create_pipeline(PROJECT_B).id
    busy = finish_downstream(sim, pid, {"done": "success", "slow": "running"}, workflow="busy")
    after_first: list[object] = []
    canceled_events: list[SimEvent] = []

    def on_event(event: SimEvent) -> None:
        if event.kind == "workflow_canceled":
            canceled_events.append(event)
            after_first.append((sim.state.get_workflow(busy.id), sim.state.jobs_of(busy.id)))

    sim.state.add_listener(on_event)
    sim.faults.add("POST /workflow/*/cancel", "act_then_fail", count=1)
    result = run("cancel", "--pipeline-id", pid)
    assert result.code == 0, result.output
    assert result.stdout.split() == [busy.id]
    cancels = [r for r in sim.state.request_log if r.method == "POST"]
    assert [(r.path, r.status) for r in cancels] == [
        (f"/workflow/{busy.id}/cancel", 502),
        (f"/workflow/{busy.id}/cancel", 202),
    ]
    assert len(canceled_events) == 1
    assert after_first == [(sim.state.get_workflow(busy.id), sim.state.jobs_of(busy.id))]
    assert {j.name: j.status for j in sim.state.jobs_of(busy.id)} == {"done": "success", "slow": "canceled"}


def test_an_unknown_pipeline_is_exit_3_with_the_apis_message(sim: SimServer, run: Run) -> None:
    result = run("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b")
    assert result.code == 3
    assert "HTTP 404" in result.stderr


def test_the_sentinel_token_appears_nowhere(sim: SimServer, run: Run) -> None:
    sim.state.add_token(SENTINEL)
    env = {"CIRCLE_TOKEN": SENTINEL}
    upstream = make_upstream(sim)
    pid = sim.state.create_pipeline(PROJECT_B).id
    finish_downstream(sim, pid, {"unit": "failed"})
    sim.faults.add("GET /me", "status", status=500, count=1)
    invocations = [
        ["--debug", "trigger", "--project", PROJECT_B, "--branch", "main", "--start-timeout", "1", "--json"],
        ["--debug", "approve", "--job-name", HOLD, "--pipeline-id", upstream.pipeline_id, "--json"],
        ["--debug", "approve", "--job-name", "nope", "--workflow-id", upstream.workflow_id],
        ["--debug", "status", "--pipeline-id", pid, "--json"],
        ["--debug", "workflows", "--pipeline-id", pid],
        ["--debug", "jobs", "--workflow-id", upstream.workflow_id],
        ["--debug", "cancel", "--pipeline-id", pid],
        ["--debug", "trigger", "--project", "gh/acme/unknown", "--branch", "main"],
    ]
    codes = []
    for args in invocations:
        result = run(*args, env=env)
        codes.append(result.code)
        assert SENTINEL not in result.output, args
    assert codes == [4, 0, 3, 1, 0, 0, 0, 3]
    for record in sim.state.request_log:
        assert SENTINEL not in repr(record)
    rejected = run("--debug", "status", "--pipeline-id", pid, env={"CIRCLE_TOKEN": SENTINEL + "x"})
    assert rejected.code == 3
    assert "Invalid token provided." in rejected.stderr
    assert SENTINEL not in rejected.output


def test_the_token_is_not_an_option(run: Run) -> None:
    result = run("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--token", "x")
    assert result.code == 2
    assert "No such option" in result.stderr


@pytest.mark.parametrize("module", ["requests", "jq", "yaml", "cb_helper.sim", "cb_helper.api.client"])
def test_version_imports_nothing_heavy(module: str) -> None:
    code = (
        "import sys; from cb_helper.cli import main; rc = main(['--version']); "
        f"sys.exit(3 if {module!r} in sys.modules else rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cb-helper ")


def test_python_dash_m_runs_the_cli() -> None:
    from cb_helper import __version__

    done = subprocess.run([sys.executable, "-m", "cb_helper", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout == f"cb-helper {__version__}\n"


def test_help_lists_every_command_through_clicks_runner() -> None:
    from click.testing import CliRunner

    from cb_helper.cli import cli

    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    for name in ("trigger", "approve", "status", "workflows", "jobs", "cancel"):
        assert f"  {name} " in result.output


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "7200"])
def test_a_bad_read_timeout_is_a_usage_error_before_any_call(sim: SimServer, run: Run, value: str) -> None:
    result = run("workflows", "--pipeline-id", sim.state.create_pipeline(PROJECT_B).id, env={READ: value})
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        f"cb-helper: error: {READ}={value!r} is not a number of seconds (expected e.g. 30, more than 0, at most 3600)"
    ]
    assert sim.state.request_log == []


def test_the_read_timeout_from_the_environment_is_used(sim: SimServer, run: Run) -> None:
    """An answer held back longer than the read timeout (30 s by default) is a timeout, retried at once."""
    pid = sim.state.create_pipeline(PROJECT_B).id
    sim.faults.add("GET /pipeline/*/workflow", "delay", delay=1.5, count=1)
    result = run("--debug", "workflows", "--pipeline-id", pid, env={READ: "0.5"})
    assert result.code == 0, result.output
    assert f"GET /pipeline/{pid}/workflow -> timed out" in result.stderr
    assert json.loads(result.stdout) == []
