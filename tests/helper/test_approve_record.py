"""``approve --upstream RECORD`` in one step (prove, then approve), and ``approve_record``'s refusals and waits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import Refused, WaitTimeout
from cb_helper.api.polling import Poller
from cb_helper.pattern.approve import approve_record
from cb_helper.pattern.record import Record, parse_record
from cb_helper.sim import SimServer
from tests.helper.conftest import HOLD, PROJECT_A, PROJECT_B, Run
from tests.helper.test_record_cli import approve_calls, handed_off


def record_of(pipeline: Any) -> Record:
    record = parse_record(pipeline.parameters["circleback"])
    assert record is not None
    return record


def test_one_step_approve_proves_the_record_then_approves_the_hold(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    result = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
        "--allow-project", PROJECT_A, "--json",
    )  # fmt: skip
    assert result.code == 0, result.output
    assert json.loads(result.stdout) == {
        "workflow_id": upstream.workflow_id,
        "workflow_name": None,
        "pipeline_id": upstream.pipeline_id,
        "project_slug": PROJECT_A,
        "job_id": upstream.hold_id,
        "job_name": HOLD,
        "outcome": "approved",
        "approved": True,
        "already_approved": False,
    }
    assert sim.state.get_job(upstream.hold_id).status == "success"
    assert len(sim.state.effects("approve", job_id=upstream.hold_id)) == 1


def test_proving_a_hold_already_approved_reports_it_approved(
    sim: SimServer, run: Run, tmp_path: Path, client: CircleCIClient
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.state.approve_job(upstream.workflow_id, upstream.hold_id)
    record = record_of(b)
    result = approve_record(client, record, downstream_pipeline_id=b.id, dry_run=True)
    assert result.outcome == "already_approved"
    assert len(sim.state.effects("approve", job_id=upstream.hold_id)) == 1


def test_a_record_naming_a_job_the_workflow_lacks_is_refused(
    sim: SimServer, run: Run, tmp_path: Path, client: CircleCIClient
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    record = replace(record_of(b), hold="deploy-gate")
    with pytest.raises(Refused) as caught:
        approve_record(client, record, downstream_pipeline_id=b.id)
    assert str(caught.value) == (
        f"workflow {upstream.workflow_id} has no job named 'deploy-gate' (jobs there: check, trigger, {HOLD}); "
        "the record names no hold; nothing approved"
    )
    assert approve_calls(sim) == []


def test_a_record_naming_a_build_job_is_refused(
    sim: SimServer, run: Run, tmp_path: Path, client: CircleCIClient
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    record = replace(record_of(b), hold="check")
    with pytest.raises(Refused) as caught:
        approve_record(client, record, downstream_pipeline_id=b.id)
    assert str(caught.value) == (
        f"job 'check' in workflow {upstream.workflow_id} is a build job, not an approval job; nothing approved"
    )
    assert approve_calls(sim) == []


def test_a_hold_not_yet_on_hold_is_waited_for_then_approved(
    sim: SimServer, run: Run, tmp_path: Path, client: CircleCIClient
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path, hold_status="blocked")
    [b] = sim.state.pipelines_of(PROJECT_B)
    said: list[str] = []

    def release(_seconds: float) -> None:  # A's trigger job finishes while B runs: the hold comes on hold
        if sim.state.get_job(upstream.hold_id).status == "blocked":
            sim.state.set_job_status(upstream.jobs["trigger"], "success")
            sim.state.set_job_status(upstream.hold_id, "on_hold")

    clock = iter(range(0, 1000, 1))
    poller = Poller(timeout=60, interval=1, clock=lambda: float(next(clock)), sleep=release)
    record = record_of(b)
    result = approve_record(client, record, downstream_pipeline_id=b.id, poller=poller, on_progress=said.append)
    assert result.outcome == "approved"
    assert said == [f"approval job {HOLD!r} is blocked; waiting until it is on hold"]
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_a_hold_that_never_gets_on_hold_times_out_approving_nothing(
    sim: SimServer, run: Run, tmp_path: Path, client: CircleCIClient
) -> None:
    upstream, _ = handed_off(sim, run, tmp_path, hold_status="blocked")
    [b] = sim.state.pipelines_of(PROJECT_B)
    waits: list[float] = []
    clock = iter(range(0, 1000, 5))
    poller = Poller(timeout=12, interval=5, clock=lambda: float(next(clock)), sleep=waits.append)
    record = record_of(b)
    with pytest.raises(WaitTimeout) as caught:
        approve_record(client, record, downstream_pipeline_id=b.id, poller=poller)
    assert str(caught.value) == (
        f"approval job {HOLD!r} in workflow {upstream.workflow_id} was still blocked after 12s; nothing approved"
    )
    assert waits  # it did wait before giving up
    assert approve_calls(sim) == []
