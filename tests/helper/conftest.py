"""Fixtures for driving cb-helper against the simulator: a CLI runner and ready-made upstream pipelines."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest

from cb_helper.api.auth import Token
from cb_helper.api.client import CircleCIClient
from cb_helper.api.retry import RetryPolicy
from cb_helper.cli import main
from cb_helper.sim import SimServer

SENTINEL = "sentinel-9c1f7e2a-token-value"
PROJECT_A = "gh/acme/project-a"
PROJECT_B = "gh/acme/project-b"
HOLD = "wait-for-triggered-pipeline"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


Run = Callable[..., Result]


@pytest.fixture
def run(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("status", "--pipeline-id", x)`` -> Result, with the simulator's host and token in the environment."""

    def invoke(*args: str, env: Optional[dict[str, Optional[str]]] = None) -> Result:
        environment: dict[str, Optional[str]] = {"CIRCLECI_HOST": sim.url, "CIRCLE_TOKEN": sim.token}
        environment.update(env or {})
        out, err = io.StringIO(), io.StringIO()
        with monkeypatch.context() as patch:
            for key, value in environment.items():
                if value is None:
                    patch.delenv(key, raising=False)
                else:
                    patch.setenv(key, value)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


@pytest.fixture
def client(sim: SimServer) -> CircleCIClient:
    """A library client on the simulator that retries quickly."""
    return CircleCIClient(
        sim.url,
        Token(sim.token, "CIRCLE_TOKEN"),
        retry=RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05),
        timeout=(2.0, 2.0),
    )


@dataclass
class Upstream:
    """Project A's pipeline: trigger job done, the hold ``on_hold``, the check job blocked."""

    pipeline_id: str
    workflow_id: str
    hold_id: str
    jobs: dict[str, str]


def make_upstream(
    sim: SimServer,
    *,
    hold_status: str = "on_hold",
    extra_jobs: Sequence[str] = (),
    workflow_name: str = "build",
    pipeline_id: Optional[str] = None,
) -> Upstream:
    state = sim.state
    pid = pipeline_id or state.create_pipeline(PROJECT_A, branch="main").id
    workflow = state.add_workflow(pid, workflow_name)
    jobs: dict[str, str] = {}
    for name in extra_jobs:
        jobs[name] = state.add_job(workflow.id, name, status="success").id
    trigger = state.add_job(workflow.id, "trigger", status="running")
    jobs["trigger"] = trigger.id
    hold = state.add_job(workflow.id, HOLD, type="approval", requires={trigger.id: ["success"]})
    jobs[HOLD] = hold.id
    if hold_status != "blocked":
        state.set_job_status(trigger.id, "success")
        state.set_job_status(hold.id, hold_status)
    jobs["check"] = state.add_job(workflow.id, "check", requires={hold.id: ["success"]}).id
    return Upstream(pid, workflow.id, hold.id, jobs)


def finish_downstream(sim: SimServer, pipeline_id: str, statuses: dict[str, str], workflow: str = "test") -> Any:
    """Give a (triggered) pipeline one workflow whose jobs end in ``statuses``."""
    wf = sim.state.add_workflow(pipeline_id, workflow)
    for name, status in statuses.items():
        job = sim.state.add_job(wf.id, name, status="running")
        if status != "running":
            sim.state.set_job_status(job.id, status)
    return wf
