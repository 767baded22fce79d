"""``status.settle`` and ``read_verdict`` as a library: what a wait does when a look fails, gives up, or is done.

The CLI tests (test_status_cli.py) meet these through ``cb-helper status --wait``; here each rule is driven on
its own, against the simulator, with a poller whose waits are counted instead of slept.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import pytest

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import AmbiguousRequest, ApiError, NetworkError, NotFound
from cb_helper.api.polling import Poller
from cb_helper.pattern.status import Verdict, read_verdict, settle, transient
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_B, finish_downstream


class Looks(Poller):
    """A poller that allows ``waits`` waits, sleeps not at all, and runs ``between`` before each next look."""

    def __init__(self, waits: int, between: Optional[Callable[[int], None]] = None) -> None:
        super().__init__(timeout=3600.0, sleep=lambda _s: None)
        self.left = waits
        self.count = 0
        self.between = between

    def wait(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.count += 1
        if self.between:
            self.between(self.count)
        return True


def on_hold(sim: SimServer) -> str:
    """B's pipeline with one workflow waiting on an approval job (not settled: it waits)."""
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id
    workflow = sim.state.add_workflow(pid, "deploy")
    build = sim.state.add_job(workflow.id, "build", status="running")
    sim.state.set_job_status(build.id, "success")
    sim.state.add_job(workflow.id, "hold", type="approval", status="on_hold")
    return pid


def fail_looks(sim: SimServer, count: int) -> None:
    """The next ``count`` reads of a pipeline answer 503 (every retry of a look with the fast client)."""
    sim.faults.add("GET /pipeline/*", "status", status=503, count=count)


def test_a_look_that_failed_is_logged_and_tried_again(
    sim: SimServer, client: CircleCIClient, caplog: pytest.LogCaptureFixture
) -> None:
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id
    finish_downstream(sim, pid, {"unit": "success"})
    fail_looks(sim, client.retry.max_attempts)
    poller = Looks(waits=3)
    verdict = settle(client, pid, poller)
    assert verdict.conclusion == "success"
    assert poller.count == 1
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"could not read pipeline {pid} (GET /pipeline/{pid} failed with HTTP 503: ")
    assert warning.endswith("); looking again")


def test_a_wait_that_ends_while_looks_fail_returns_the_last_verdict_with_its_jobs(
    sim: SimServer, client: CircleCIClient
) -> None:
    pid = on_hold(sim)
    poller = Looks(waits=1, between=lambda _n: fail_looks(sim, client.retry.max_attempts))
    verdict = settle(client, pid, poller)
    assert isinstance(verdict, Verdict)
    assert not verdict.settled
    [workflow] = verdict.current
    assert workflow.status == "on_hold"
    assert workflow.jobs is not None
    assert [job["name"] for job in workflow.jobs] == ["build", "hold"]


def test_a_wait_whose_every_look_failed_raises_the_last_failure(sim: SimServer, client: CircleCIClient) -> None:
    pid = on_hold(sim)
    fail_looks(sim, client.retry.max_attempts * 3)
    with pytest.raises(ApiError) as caught:
        settle(client, pid, Looks(waits=2))
    assert caught.value.status == 503


def test_a_failure_that_will_not_pass_is_raised_at_once(sim: SimServer, client: CircleCIClient) -> None:
    missing = "5034460f-c7c4-4c43-9457-de07e2029e7b"
    poller = Looks(waits=5)
    with pytest.raises(NotFound):
        settle(client, missing, poller)
    assert poller.count == 0


@pytest.mark.parametrize(
    ("error", "passing"),
    [
        (NetworkError("GET /x timed out"), True),
        (AmbiguousRequest("POST /x timed out after the request was sent"), False),
        (ApiError("GET", "/x", 503, None), True),
        (ApiError("GET", "/x", 429, None), True),
        (ApiError("GET", "/x", 404, None), False),
        (ApiError("GET", "/x", 400, None), False),
        (ApiError("GET", "/x", None, "the answer is not a list"), False),
        (ValueError("not ours"), False),
    ],
)
def test_which_failures_may_pass(error: Exception, passing: bool) -> None:
    assert transient(error) is passing


def test_a_pipeline_without_workflows_is_read_again_until_it_has_some(sim: SimServer, client: CircleCIClient) -> None:
    """A created pipeline can still error: until it runs workflows, each look reads the pipeline itself."""
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id

    def break_config(look: int) -> None:
        if look == 2:
            sim.state.mark_pipeline_errored(pid, [("config", "Config does not conform to schema")])

    verdict = settle(client, pid, Looks(waits=5, between=break_config))
    assert verdict.state == "errored"
    assert verdict.errors == ["Config does not conform to schema"]


def test_done_ends_the_wait_before_the_verdict_settles(sim: SimServer, client: CircleCIClient) -> None:
    pid = on_hold(sim)
    poller = Looks(waits=5)
    verdict = settle(client, pid, poller, done=lambda v: any(w.status == "on_hold" for w in v.current))
    assert not verdict.settled
    assert poller.count == 0


def test_one_look_reads_the_jobs_of_a_failed_workflow_unless_told_not_to(
    sim: SimServer, client: CircleCIClient
) -> None:
    pid = sim.state.create_pipeline(PROJECT_B, branch="main").id
    finish_downstream(sim, pid, {"unit": "failed", "lint": "success"})
    [full] = read_verdict(client, pid).current
    assert full.failed_jobs == ["unit (failed)"]
    [bare] = read_verdict(client, pid, jobs=False).current
    assert (bare.failed_jobs, bare.jobs) == ([], None)
