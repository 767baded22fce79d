"""The circle-back's steps are named for what they do in each mode: a record, the legacy ids, or no upstream."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.circleback import A, B, approvals, describe, downstream, legacy, rehearsal, upstream, write_project

HOLD = "wait-for-triggered-pipeline"


def _run_steps(job: object) -> list[str]:
    return [s.name for s in job.steps if s.kind == "run"]  # type: ignore[attr-defined]


def test_with_a_record_it_proves_then_circles_back(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    circle_back = result.pipeline(B).job("circleback/circle_back")
    assert _run_steps(circle_back)[-2:] == ["Prove the upstream record", "Circle back to the upstream pipeline"]
    assert circle_back.step("Circle back to the upstream pipeline").output.startswith(f"approved {HOLD} in workflow")


def test_with_the_legacy_ids_one_step_circles_back(packed_orb: Path, tmp_path: Path) -> None:
    a_config, b_config = legacy(upstream(packed_orb, tmp_path), downstream(packed_orb, "final-job"))
    projects = {A: write_project(tmp_path, "a", a_config), B: write_project(tmp_path, "b", b_config, outcome="0")}
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    circle_back = result.pipeline(B).job("circleback/circle_back")
    names = _run_steps(circle_back)
    assert names[-1] == "Circle back to the upstream pipeline (legacy ids, not provable)"
    assert "Prove the upstream record" not in names
    assert "nothing to approve" not in circle_back.output()
    assert f"approved {HOLD} in workflow" in circle_back.step(names[-1]).output
    assert approved == [result.pipeline(A).workflow().id]


def test_without_an_upstream_one_step_says_so(packed_orb: Path, tmp_path: Path) -> None:
    # B pushed to on its own: its circleback parameter keeps its default, "".
    projects = {B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0")}
    with rehearsal(packed_orb, projects) as run:
        run.start(B)
        result = run.run_until_settled(60)
    assert result.outcome == "settled", describe(result)
    circle_back = result.pipeline(B).job("circleback/circle_back")
    assert circle_back.status == "success"
    assert _run_steps(circle_back)[-1] == "No upstream to circle back to"
    assert "Circle back to the upstream pipeline" not in _run_steps(circle_back)
    assert (
        "not triggered by an upstream, nothing to approve" in circle_back.step("No upstream to circle back to").output
    )
