"""No hold waits forever: the sweeper end to end, with the packed orb, the runner and real `cb-helper sweep` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from cb_helper.api.times import now
from cb_helper.pattern.record import Record
from cb_helper.rehearse.examples import set_arguments
from cb_helper.rehearse.timeline import Event
from cb_helper.sim import SimServer, SimState
from tests.e2e.circleback import (
    A,
    B,
    approve_requests,
    canceller,
    describe,
    downstream,
    rehearsal,
    step,
    upstream,
    write_project,
)

HOLD = "wait-for-triggered-pipeline"
CHECK_STEP = "Check the downstream pipeline"
OPS = "gh/acme/prod"


def sweep(server: SimServer, *extra: str) -> subprocess.CompletedProcess[str]:
    """One `cb-helper sweep` process against the rehearsal's simulator (grace 0: act at once).

    B's project may be canceled in unless ``extra`` names its own ``--cancel-project``.
    """
    env = {**os.environ, "CIRCLECI_HOST": server.url, "CIRCLE_TOKEN": server.token}
    cancel = [] if "--cancel-project" in extra else ["--cancel-project", B]
    return subprocess.run(
        [sys.executable, "-m", "cb_helper", "sweep", "--project", A, "--grace", "0s", *cancel, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def hold_of(state: SimState, project: str = A, name: str = HOLD) -> Any:
    for pipeline in state.pipelines_of(project):
        for workflow in state.workflows_of(pipeline.id):
            for job in state.jobs_of(workflow.id):
                if job.name == name:
                    return job
    return None


ERRORS: list[BaseException] = []


def when_started(project: str, job: str, action: Callable[[], None]) -> Callable[[Event], None]:
    """An event hook running ``action`` in a thread once ``job`` of ``project`` starts (errors kept in ERRORS)."""
    fired = threading.Event()

    def guarded() -> None:
        try:
            action()
        except BaseException as exc:
            ERRORS.append(exc)
            raise

    def on_event(event: Event) -> None:
        if event.kind == "job_started" and event.project == project and event.job == job and not fired.is_set():
            fired.set()
            threading.Thread(target=guarded, daemon=True).start()

    return on_event


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.1)


def test_a_canceled_b_is_released_by_one_sweep_and_a_fails_saying_so(packed_orb: Path, tmp_path: Path) -> None:
    """(a) B's whole workflow canceled mid-run: its circle-back never comes; one sweep releases A."""
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="hang"),
    }
    with SimServer(SimState()) as server:
        hook = canceller(server.state, B, {"unit-tests"}, whole_workflow=True)
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            stuck = run.run_until_settled(60)
            assert stuck.outcome == "stuck", describe(stuck)
            swept = sweep(server)
            again = sweep(server)
            result = run.run_until_settled(60)
            released = server.state.effects("approve", job_id=hold_of(server.state).id)
    assert swept.returncode == 0, swept.stderr
    assert "B finished (canceled) without circling back -> released the hold" in swept.stdout
    assert again.returncode == 0
    assert again.stdout == "", again.stdout  # idempotent: nothing new
    assert len(released) == 1
    assert result.outcome == "settled", describe(result)
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 5, verdict.output
    assert f"released: {B} was canceled" in verdict.output


def _past_deadline(packed_orb: Path, tmp_path: Path, deadline: str = "3s") -> dict[str, Path]:
    a_config = upstream(packed_orb, tmp_path)
    set_arguments(a_config, "trigger-project-b", {"deadline": deadline})
    return {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="hang"),
    }


def _deadline_passed(state: SimState) -> bool:
    hold = hold_of(state)
    return (
        hold is not None
        and hold.status == "on_hold"
        and hold.started_at is not None
        and (now() - hold.started_at > timedelta(seconds=4))
    )


def test_b_running_past_the_deadline_is_canceled_and_a_fails_deadline_passed(packed_orb: Path, tmp_path: Path) -> None:
    """(b) one sweep cancels B, releases A; A's check exits 4 saying the deadline passed."""
    outputs: list[subprocess.CompletedProcess[str]] = []
    with SimServer(SimState()) as server:

        def act() -> None:
            wait_until(lambda: _deadline_passed(server.state))
            outputs.append(sweep(server))

        hook = when_started(B, "unit-tests", act)
        with rehearsal(packed_orb, _past_deadline(packed_orb, tmp_path), server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(90)
            wait_until(lambda: len(outputs) == 1)  # the sweep's process may end after the rehearsal settled
            b_workflow = result.pipeline(B).workflow()
            canceled = server.state.effects("cancel", workflow_id=b_workflow.id)
    assert result.outcome == "settled", describe(result)
    [swept] = outputs
    assert swept.returncode == 0, swept.stderr
    assert "past the deadline" in swept.stdout
    assert "canceled 1 workflow(s) of B; released the hold" in swept.stdout
    assert b_workflow.status == "canceled"
    assert len(canceled) == 1
    assert result.pipeline(A).job(HOLD).status == "success"
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 4, verdict.output
    assert "passed while" in verdict.output
    assert "it was canceled" in verdict.output


def test_a_canceled_while_b_runs_cancels_b_with_cancel_orphans(packed_orb: Path, tmp_path: Path) -> None:
    """(c) cancel propagates A -> B."""
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="hang"),
    }
    outputs: list[subprocess.CompletedProcess[str]] = []
    with SimServer(SimState()) as server:

        def act() -> None:
            wait_until(lambda: getattr(hold_of(server.state), "status", None) == "on_hold")
            server.state.cancel_workflow(hold_of(server.state).workflow_id)
            outputs.append(sweep(server))  # without --cancel-orphans: B is left alone
            outputs.append(sweep(server, "--cancel-orphans"))

        hook = when_started(B, "unit-tests", act)
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(90)
            wait_until(lambda: len(outputs) == 2 or bool(ERRORS))  # the sweep may end after the rehearsal settled
    assert result.outcome == "settled", describe(result)
    assert not ERRORS, ERRORS
    plain, orphans = outputs
    assert plain.returncode == 0
    assert plain.stdout == "", plain.stdout
    assert orphans.returncode == 0, orphans.stderr
    assert "A's workflow is canceled; B still runs" in orphans.stdout
    assert "canceled 1 workflow(s) of B" in orphans.stdout
    assert result.pipeline(A).workflow().status == "canceled"
    assert result.pipeline(B).workflow().status == "canceled"
    assert result.pipeline(B).job("unit-tests").status == "canceled"


def test_an_approval_job_no_record_names_is_never_approved(packed_orb: Path, tmp_path: Path) -> None:
    """(d) a person's approval gate in A, beside the circleback hold, stays a person's."""
    a_config = upstream(packed_orb, tmp_path)
    a_config["jobs"] = {"build": {"docker": [{"image": "cimg/base:current"}], "steps": [{"run": "true"}]}}
    a_config["workflows"]["build-and-integrate"]["jobs"] += [
        "build",
        {"release-gate": {"type": "approval", "requires": ["build"]}},
    ]
    projects = {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        stuck = run.run_until_settled(60)
        swept = sweep(run.server, "--cancel-orphans")
        gate = hold_of(run.state, name="release-gate")
        approvals = run.state.effects("approve")
    assert stuck.outcome == "stuck"
    assert stuck.waiting == [f"{A} #1 build-and-integrate/release-gate"]
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == ""
    assert gate.status == "on_hold"
    assert [effect.job_id for effect in approvals] == [hold_of(run.state).id]  # only B's circle-back


def test_two_sweeps_at_once_approve_each_hold_once_and_cancel_each_b_once(packed_orb: Path, tmp_path: Path) -> None:
    """(e) a late second request finds the work done, changes nothing, and its sweep reports success."""
    outputs: list[subprocess.CompletedProcess[str]] = []
    with SimServer(SimState()) as server:

        def act() -> None:
            wait_until(lambda: _deadline_passed(server.state))
            barrier = threading.Barrier(2)

            def one() -> None:
                barrier.wait()
                outputs.append(sweep(server))

            threads = [threading.Thread(target=one) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        hook = when_started(B, "unit-tests", act)
        with rehearsal(packed_orb, _past_deadline(packed_orb, tmp_path), server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(90)
            wait_until(lambda: len(outputs) == 2)  # the sweeps may end after the rehearsal settled
            hold = hold_of(server.state)
            b_workflow = result.pipeline(B).workflow()
            approved = server.state.effects("approve", job_id=hold.id)
            canceled = server.state.effects("cancel", workflow_id=b_workflow.id)
            requests = approve_requests(server.state)
    assert result.outcome == "settled", describe(result)
    assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]
    assert len(approved) == 1
    assert len(canceled) == 1
    assert hold.status == "success"
    assert 1 <= len(requests) <= 2
    assert step(result.pipeline(A).job("check-project-b"), CHECK_STEP).exit_code == 4


def test_a_normal_circle_back_leaves_the_sweep_nothing_to_do(packed_orb: Path, tmp_path: Path) -> None:
    """(f) while B runs within its deadline the sweep waits; after B circled back it finds nothing."""
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0"),
    }
    # B's tests run until the sweep has looked, so the sweep meets a B that is running within its deadline.
    go = tmp_path / "go"
    (tmp_path / "b" / "run-tests.sh").write_text(
        f"#!/usr/bin/env bash\nfor _ in $(seq 300); do [ -e {go} ] && exit 0; sleep 0.1; done\nexit 1\n",
        encoding="utf-8",
    )
    outputs: list[subprocess.CompletedProcess[str]] = []
    with SimServer(SimState()) as server:

        def act() -> None:
            wait_until(lambda: getattr(hold_of(server.state), "status", None) == "on_hold")
            outputs.append(sweep(server))
            go.touch()

        hook = when_started(B, "unit-tests", act)
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(60)
            after = sweep(server, "--cancel-orphans")
            effects = server.state.effects()
    assert result.outcome == "settled", describe(result)
    [during] = outputs
    assert during.returncode == 0, during.stderr
    assert "B running (tests); deadline in 5h" in during.stdout, during.stdout
    assert during.stdout.rstrip().endswith("-> waiting")
    assert after.returncode == 0
    assert after.stdout == ""
    assert [(e.kind, e.job_id) for e in effects] == [("approve", hold_of(server.state).id)]
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert f"released: {B} circled back: success" in verdict.output


def test_a_forged_record_naming_another_projects_gate_is_refused(packed_orb: Path, tmp_path: Path) -> None:
    """(h) B triggered by hand with a record naming a production gate that no stored handoff names."""
    ops_config = {
        "version": 2.1,
        "jobs": {"build": {"docker": [{"image": "cimg/base:current"}], "steps": [{"run": "true"}]}},
        "workflows": {"deploy": {"jobs": ["build", {"deploy-gate": {"type": "approval", "requires": ["build"]}}]}},
    }
    b_config = downstream(packed_orb, "final-job")
    set_arguments(b_config, "circleback/circle_back", {"allowed_projects": ""})  # the proof alone must refuse
    projects = {
        OPS: write_project(tmp_path, "ops", ops_config),
        B: write_project(tmp_path, "b", b_config, outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        ops_id = run.start(OPS)
        assert run.run_until_settled(60).outcome == "stuck"
        gate = hold_of(run.state, OPS, "deploy-gate")
        pipeline = run.state.get_pipeline(ops_id)
        forged = Record(OPS, ops_id, pipeline.number, gate.workflow_id, "deploy-gate", now(), B).encode()
        run.start(B, parameters={"circleback": forged})
        result = run.run_until_settled(60)
        approvals = run.state.effects("approve")
        requests = approve_requests(run.state)
    circle_back = result.pipeline(B).job("circleback/circle_back")
    proof = step(circle_back, "Prove the upstream record")
    assert proof.exit_code == 3, proof.output
    assert "the record is not proven" in proof.output
    assert "nothing approved" in proof.output
    assert approvals == []
    assert requests == []
    assert hold_of(run.state, OPS, "deploy-gate").status == "on_hold"


def test_the_sweep_example_sweeps_in_a_scheduled_pipeline_and_not_in_an_api_triggered_one(
    packed_orb: Path, tmp_path: Path
) -> None:
    from cb_helper.rehearse.examples import example_config, write_config

    config = example_config(packed_orb, "sweep_stuck_holds")
    set_arguments(config, "circleback/sweep", {"projects": A, "since": "1h"})
    ops = write_config(config, tmp_path / "ops")
    with rehearsal(packed_orb, {OPS: ops, A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path))}) as run:
        scheduled = run.start(OPS, trigger_type="schedule")
        by_api = run.start(OPS, trigger_type="api")
        result = run.run_until_settled(60)
        api_view = {p.id: p.trigger_type for p in run.state.pipelines_of(OPS)}
    assert result.outcome == "settled", describe(result)
    swept = next(p for p in result.pipelines_of(OPS) if p.id == scheduled)
    assert [w.name for w in swept.workflows] == ["sweep-stuck-holds"], describe(result)
    assert swept.workflow().job("circleback/sweep").status == "success", describe(result)
    quiet = next(p for p in result.pipelines_of(OPS) if p.id == by_api)
    assert quiet.workflows == []  # the guard keeps an API-triggered pipeline from sweeping
    assert api_view == {scheduled: "scheduled_pipeline", by_api: "api"}  # the API's names for the two triggers


def test_pipeline_trigger_source_is_gone_as_on_circleci_cloud(packed_orb: Path, tmp_path: Path) -> None:
    from cb_helper.rehearse.errors import ConfigError
    from cb_helper.rehearse.examples import example_config, write_config

    config = example_config(packed_orb, "sweep_stuck_holds")
    config["workflows"]["sweep-stuck-holds"]["when"] = {
        "equal": ["scheduled_pipeline", "<< pipeline.trigger_source >>"]
    }
    ops = write_config(config, tmp_path / "ops")
    with rehearsal(packed_orb, {OPS: ops}) as run:
        try:
            run.start(OPS, trigger_type="schedule")
        except ConfigError as exc:
            message = str(exc)
        else:
            raise AssertionError("pipeline.trigger_source compiled")
    assert "pipeline.trigger_source" in message
    assert "use pipeline.trigger.type" in message
