"""What the reruns users make do to a circleback, through ``POST /workflow/{id}/rerun`` over real HTTP.

B fails, B is rerun from failed and passes, A's check is rerun: A passes (the newest run supersedes). A is
rerun from the start: a new record and a new B, and the old B's circle-back finds its hold gone and says so.
A's check is rerun from failed without rerunning B: the same verdict, and the log says how to get a new one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import requests

from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.timeline import Event
from tests.e2e.circleback import (
    A,
    B,
    approvals,
    describe,
    downstream,
    record_of,
    rehearsal,
    step,
    upstream,
    write_project,
)

HOLD = "wait-for-triggered-pipeline"
CHECK = "check-project-b"
CHECK_STEP = "Check the downstream pipeline"
APPROVE_STEP = "Circle back to the upstream pipeline"
PROVE_STEP = "Prove the upstream record"


def rerun(run: Rehearsal, workflow_id: str, **body: Any) -> str:
    """Rerun a workflow as the web app's buttons do, through the API; returns the new workflow's id."""
    answer = requests.post(
        f"{run.server.url}/api/v2/workflow/{workflow_id}/rerun",
        json=body,
        headers={"Circle-Token": run.server.token},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["workflow_id"])


def projects(orb: Path, root: Path, outcome: str) -> dict[str, Path]:
    return {
        A: write_project(root, "a", upstream(orb, root)),
        B: write_project(root, "b", downstream(orb, "final-job"), outcome=outcome),
    }


def test_b_rerun_from_failed_then_a_check_rerun_passes_a(packed_orb: Path, tmp_path: Path) -> None:
    with rehearsal(packed_orb, projects(packed_orb, tmp_path, "1")) as run:
        run.start(A)
        first = run.run_until_settled(60)
        assert first.pipeline(A).workflow().status == "failed", describe(first)
        (tmp_path / "b" / "outcome").write_text("0", encoding="utf-8")  # the flaky test passes this time
        b_rerun = rerun(run, first.pipeline(B).workflow().id, from_failed=True)
        second = run.run_until_settled(60)
        assert second.pipeline(B).workflow().id == b_rerun
        assert second.pipeline(B).workflow().status == "success", describe(second)
        a_rerun = rerun(run, first.pipeline(A).workflow().id, from_failed=True)
        result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert [w.status for w in a.workflows] == ["failed", "success"], describe(result)
    new = a.workflow()
    assert new.id == a_rerun
    assert new.job("trigger-project-b").status == "success"  # carried over: no new B
    assert len(result.pipelines_of(B)) == 1
    verdict = step(new.job(CHECK), CHECK_STEP)
    assert verdict.exit_code == 0, describe(result)
    assert "success" in verdict.output
    # B's rerun circled back too: the hold it names was already approved, which is success.
    b_approve = step(second.pipeline(B).workflow().job("circleback/circle_back"), APPROVE_STEP)
    assert b_approve.exit_code == 0
    assert "already approved" in b_approve.output


def test_a_check_rerun_alone_gives_the_same_verdict_and_says_how_to_get_a_new_one(
    packed_orb: Path, tmp_path: Path
) -> None:
    with rehearsal(packed_orb, projects(packed_orb, tmp_path, "1")) as run:
        run.start(A)
        first = run.run_until_settled(60)
        old = first.pipeline(A).workflow()
        assert old.status == "failed", describe(first)
        rerun(run, old.id, from_failed=True)
        result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert [w.status for w in a.workflows] == ["failed", "failed"], describe(result)
    before, after = step(old.job(CHECK), CHECK_STEP), step(a.workflow().job(CHECK), CHECK_STEP)
    assert before.exit_code == after.exit_code == 1
    for said in (before.output, after.output):
        assert "failed job: unit-tests" in said
        assert "rerun the downstream's workflow (from failed) and then this job" in said
        assert "rerun this workflow from the start to trigger a new downstream" in said
    assert len(result.pipelines_of(B)) == 1  # nothing new was triggered


def test_a_rerun_from_the_start_triggers_a_new_b_and_the_old_b_finds_its_hold_gone(
    packed_orb: Path, tmp_path: Path
) -> None:
    # B's tests wait until A's second run holds. Meanwhile A's first run is canceled and rerun from the start, as
    # a user does who gave up waiting: the rerun triggers a new B with a new record.
    release = tmp_path / "release-b"
    paths = projects(packed_orb, tmp_path, "0")
    script = tmp_path / "b" / "run-tests.sh"
    script.write_text(
        f"#!/usr/bin/env bash\nfor _ in $(seq 900); do [ -f {release} ] && exit 0; sleep 0.1; done; exit 1\n",
        encoding="utf-8",
    )
    holds: list[str] = []
    errors: list[BaseException] = []
    run: Rehearsal

    def act() -> None:
        try:
            first = run.state.pipelines_of(A)[0]
            [workflow] = run.state.workflows_of(first.id)
            answer = requests.post(
                f"{run.server.url}/api/v2/workflow/{workflow.id}/cancel",
                headers={"Circle-Token": run.server.token},
                timeout=30,
            )
            assert answer.status_code == 202
            rerun(run, workflow.id)
        except BaseException as exc:
            errors.append(exc)

    def on_event(event: Event) -> None:
        if event.kind == "hold_started" and event.project == A:
            holds.append(event.workflow or "")
            if len(holds) == 1:
                threading.Thread(target=act, daemon=True).start()
            else:
                release.write_text("go", encoding="utf-8")

    with rehearsal(packed_orb, paths, on_event=on_event) as run:
        run.start(A)
        result = run.run_until_settled(90)
        approved = approvals(run.state)
    assert not errors, errors
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    old, new = a.workflows
    assert old.status == "canceled"
    assert new.status == "success", describe(result)
    first_b, second_b = result.pipelines_of(B)
    assert record_of(first_b.parameters["circleback"])[2] == old.id
    assert record_of(second_b.parameters["circleback"])[2] == new.id  # a new record, a new B
    assert approved == [new.id]
    circle_back = first_b.workflow().job("circleback/circle_back")
    proof, gone = step(circle_back, PROVE_STEP), step(circle_back, APPROVE_STEP)
    assert gone.exit_code == 0  # B's own result does not turn red for it
    assert f"the hold is gone, the upstream stopped waiting (hold {HOLD}); nothing approved" in gone.output
    assert f"approval job {HOLD} in workflow {old.id} is canceled: the upstream stopped waiting" in proof.output
    assert f"The hold is gone: workflow 'build-and-integrate' was rerun since as {new.id}" in proof.output
