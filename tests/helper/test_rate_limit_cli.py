"""A sustained rate limit: the commands keep trying while the API only answers 429, within a time budget.

The long waits go by a fast clock that the commands' clients and the simulator's fault rules share: every 429 is a
real HTTP answer with ``Retry-After: 1``, and the client waits the second it asks for, without the test waiting it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from cb_helper.api.client import CircleCIClient
from cb_helper.api.tuning import RATE_LIMIT_BUDGET_ENV
from cb_helper.commands.options import make_client
from cb_helper.sim import SimServer
from tests.conftest import FastClock
from tests.helper.conftest import PROJECT_A, PROJECT_B, Run, finish_downstream
from tests.helper.test_record_cli import approve_calls, handed_off

JOBS = "GET /workflow/*/job"


@pytest.fixture
def fast_commands(monkeypatch: pytest.MonkeyPatch, fast_clock: FastClock) -> FastClock:
    """``approve`` and ``status`` build their client as always (the environment read), then wait by the fast clock."""

    def make(host: str, token_env: str) -> CircleCIClient:
        client = make_client(host, token_env)
        client._sleep, client._clock = fast_clock.sleep, fast_clock.now
        return client

    for name in ("approve", "status"):
        monkeypatch.setattr(importlib.import_module(f"cb_helper.commands.{name}"), "make_client", make)
    return fast_clock


def limited(sim: SimServer) -> list[int]:
    """The status of every request to a job list, in order."""
    return [r.status for r in sim.state.request_log if r.method == "GET" and r.path.endswith("/job")]


def test_approve_circles_back_through_30_seconds_of_429s(
    sim: SimServer, run: Run, tmp_path: Path, fast_commands: FastClock
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.faults.add(JOBS, "status", status=429, retry_after=1, seconds=30)
    sim.state.clear_request_log()
    result = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
        "--allow-project", PROJECT_A,
    )  # fmt: skip
    assert result.code == 0, result.output
    assert sim.state.get_job(upstream.hold_id).status == "success"
    assert len(approve_calls(sim)) == 1
    statuses = limited(sim)
    assert statuses.count(429) >= 15  # a 1 s wait, plus a spread of at most as much again, for 30 s
    assert statuses[statuses.count(429)] == 200  # then the job list was served, and the proof went on
    assert all(s >= 1.0 for s in fast_commands.slept[: statuses.count(429) - 1])
    assert sum(fast_commands.slept) >= 30


def test_status_wait_reads_the_verdict_through_30_seconds_of_429s(
    sim: SimServer, run: Run, fast_commands: FastClock
) -> None:
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id
    finish_downstream(sim, pid, {"unit": "failed", "lint": "success"})  # a failed workflow's jobs are read
    sim.faults.add(JOBS, "status", status=429, retry_after=1, seconds=30)
    result = run("status", "--pipeline-id", pid, "--wait", "--interval", "0.2")
    assert result.code == 1, result.output  # B's verdict (failed), not an API error
    assert "failed job: unit (failed)" in result.stdout
    assert limited(sim).count(429) >= 15
    assert sum(fast_commands.slept) >= 30


def test_the_budget_set_low_runs_out_and_names_the_time_waited(sim: SimServer, run: Run, tmp_path: Path) -> None:
    """Real time: a 3 s budget against a limit that lasts an hour; exit 3, nothing approved."""
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.faults.add(JOBS, "status", status=429, retry_after=1, seconds=3600)
    sim.state.clear_request_log()
    result = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
        env={RATE_LIMIT_BUDGET_ENV: "3s"},
    )  # fmt: skip
    assert result.code == 3, result.output
    count = limited(sim).count(429)
    assert count >= 2
    [line] = result.stderr.splitlines()
    pattern = (
        rf"cb-helper: error: GET /workflow/{upstream.workflow_id}/job failed with HTTP 429: Rate limit exceeded\. "
        rf"\(rate limited; gave up after {count} answers of HTTP 429 in (\d+\.\d)s(, then asked to wait 1s more)?: "
        rf"the rate-limit budget, {RATE_LIMIT_BUDGET_ENV}, is 3\.0s\)"
    )
    match = re.fullmatch(pattern, line)
    assert match is not None, line
    assert float(match.group(1)) >= 2.0  # the time it waited from its first 429: two waits of at least 1 s each
    assert approve_calls(sim) == []
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf", "2d", "5x"])
def test_a_bad_budget_is_one_line_exit_2_before_any_request(sim: SimServer, run: Run, value: str) -> None:
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id
    result = run("status", "--pipeline-id", pid, env={RATE_LIMIT_BUDGET_ENV: value})
    assert result.code == 2, result.output
    assert result.stderr == (
        f"cb-helper: error: {RATE_LIMIT_BUDGET_ENV}={value!r} is not a rate-limit budget "
        "(expected a duration such as 5m, 90s or 1h, or seconds; more than 0, at most 1d)\n"
    )
    assert sim.state.request_log == []


@pytest.mark.parametrize(("value", "seconds"), [("", 300.0), ("10m", 600.0), ("90", 90.0), (" 1h30m ", 5400.0)])
def test_the_budget_reads_durations_and_seconds(value: str, seconds: float) -> None:
    from cb_helper.api.tuning import rate_limit_budget

    assert rate_limit_budget({RATE_LIMIT_BUDGET_ENV: value}) == seconds
    assert rate_limit_budget({}) == 300.0
