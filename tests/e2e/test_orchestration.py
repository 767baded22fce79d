"""The circleback end to end, continued: reruns, pagination, fan-out and bad orb parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.examples import set_arguments
from tests.e2e.circleback import (
    FAN_OUT,
    A,
    B,
    C,
    approvals,
    approve_requests,
    describe,
    downstream,
    legacy,
    record_of,
    rehearsal,
    step,
    upstream,
    write_project,
)

HOLD = "wait-for-triggered-pipeline"
CHECK_STEP = "Check the downstream pipeline"


def test_a_rerun_of_a_is_approved_in_the_new_workflow(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="1"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        first = run.run_until_settled(60)
        old = first.pipeline(A).workflow()
        assert old.status == "failed", describe(first)
        (tmp_path / "b" / "outcome").write_text("0", encoding="utf-8")  # fixed; rerun A from the start
        run.state.rerun_workflow(old.id)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert [w.status for w in a.workflows] == ["failed", "success"], describe(result)
    new = a.workflow()
    assert new.id != old.id
    second_b = result.pipeline(B, -1)
    assert second_b.number == 2
    assert record_of(second_b.parameters["circleback"])[2] == new.id
    assert approved == [old.id, new.id]  # each B approved the hold of the workflow that triggered it
    assert new.job(HOLD).status == "success"
    assert new.job("check-project-b").status == "success"


def test_holds_beyond_the_first_page_are_found(packed_orb: Path, tmp_path: Path) -> None:
    lint = {"docker": [{"image": "cimg/base:current"}], "steps": [{"run": {"name": "lint", "command": "true"}}]}
    a_config = upstream(packed_orb, tmp_path)
    a_config["jobs"] = {"lint": lint}
    a_jobs = a_config["workflows"]["build-and-integrate"]["jobs"]
    a_config["workflows"]["build-and-integrate"]["jobs"] = [{"lint": {"name": f"lint-{i}"}} for i in range(7)] + a_jobs
    b_config = downstream(packed_orb, "final-job")
    b_config["jobs"]["lint"] = lint
    b_jobs = b_config["workflows"]["tests"]["jobs"]
    b_config["workflows"]["tests"]["jobs"] = [{"lint": {"name": f"lint-{i}"}} for i in range(7)] + b_jobs
    projects = {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", b_config, outcome="2"),
    }
    with rehearsal(packed_orb, projects, page_size=3) as run:
        run.start(A)
        result = run.run_until_settled(60)
        paged = [r for r in run.state.request_log if r.method == "GET" and "page-token" in r.query]
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert [job.name for job in a.workflow().jobs].index(HOLD) >= 6  # on the third page of three
    assert approved == [a.workflow().id]
    assert any(r.path == f"/workflow/{a.workflow().id}/job" for r in paged)
    verdict = step(a.job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 1
    assert "failed job: unit-tests" in verdict.output
    assert "failed job: integration-tests" in verdict.output


def test_fan_out_holds_once_per_downstream(packed_orb: Path, tmp_path: Path) -> None:
    # B and C run the same example config: it declares only `circleback` and names no hold.
    b_config = downstream(packed_orb, "final-job")
    assert list(b_config["parameters"]) == ["circleback"]
    assert "job_name" not in str(b_config)
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path, FAN_OUT)),
        B: write_project(tmp_path, "b", b_config, outcome="0"),
        C: write_project(tmp_path, "c", downstream(packed_orb, "final-job"), outcome="1"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    workflow = a.workflow()
    assert workflow.job("wait-for-project-b").status == "success"
    assert workflow.job("wait-for-project-c").status == "success"
    assert approved == [workflow.id, workflow.id]
    assert result.pipeline(B).workflow().status == "success"
    assert result.pipeline(C).workflow().status == "failed"
    check_b, check_c = workflow.job("check-project-b"), workflow.job("check-project-c")
    assert check_b.status == "success", describe(result)
    assert result.pipeline(B).id in step(check_b, CHECK_STEP).output
    assert check_c.status == "failed"
    assert result.pipeline(C).id in step(check_c, CHECK_STEP).output
    assert step(check_c, CHECK_STEP).exit_code == 1


def test_a_bad_trigger_parameter_fails_before_any_api_call(packed_orb: Path, tmp_path: Path) -> None:
    a_config = upstream(packed_orb, tmp_path)
    set_arguments(a_config, "trigger-project-b", {"project_slug": "acme/project-b"})
    projects = {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", downstream(packed_orb, "post-steps"), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
        requests = run.state.request_log
    assert result.outcome == "settled", describe(result)
    trigger = result.pipeline(A).job("trigger-project-b")
    failure = step(trigger, "Trigger the downstream pipeline")
    assert failure.exit_code == 2
    assert "'acme/project-b'" in failure.output
    assert "expected provider/organization/project" in failure.output
    assert requests == []  # nothing was triggered, nothing approved
    assert result.pipelines_of(B) == []
    assert result.pipeline(A).job(HOLD).status == "not_run"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ('{"v": 1, "workflow_id": "not-a-workflow-id"}', "lacks the field(s)"),
        ('{"v": 2}', "record version 2"),
        ("{not json", "not JSON"),
    ],
)
def test_a_bad_circle_back_parameter_approves_nothing(
    packed_orb: Path, tmp_path: Path, record: str, expected: str
) -> None:
    b_config = downstream(packed_orb, "final-job")
    set_arguments(b_config, "circleback/circle_back", {"upstream": record})
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: write_project(tmp_path, "b", b_config, outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
        approve_calls = approve_requests(run.state)
    assert result.outcome == "stuck", describe(result)
    assert result.waiting == [f"{A} #1 build-and-integrate/{HOLD}"]
    circle_back = result.pipeline(B).job("circleback/circle_back")
    failure = step(circle_back, "Prove the upstream record")
    assert failure.exit_code == 2
    assert expected in failure.output
    assert [line for line in failure.output.splitlines() if line.startswith("cb-helper")] == [
        failure.output.splitlines()[0]
    ]  # one line from cb-helper
    after = step(circle_back, "Circle back to the upstream pipeline")  # no receipt: nothing approved, one error
    assert after.exit_code == 0
    assert after.output == "not circling back: the upstream record was not proven (the step before says why)\n"
    assert approved == []
    assert approve_calls == []  # not even a refused attempt


def test_a_b_example_copied_as_is_does_not_compile_on_its_own(packed_orb: Path, tmp_path: Path) -> None:
    # The usage cannot show B's parameters block; without it, B's own pushes fail to compile, as on CircleCI.
    projects = {B: write_project(tmp_path, "b", downstream(packed_orb, "final-job", declared=False), outcome="0")}
    with rehearsal(packed_orb, projects) as run:
        with pytest.raises(ConfigError) as caught:
            run.start(B)
        assert run.state.pipelines_of(B) == []
    assert "pipeline.parameters.circleback" in str(caught.value)
    assert "no pipeline parameter 'circleback'" in str(caught.value)


def test_after_a_rerun_a_pipeline_id_alone_finds_the_hold_that_waits(packed_orb: Path, tmp_path: Path) -> None:
    a_config, b_config = legacy(upstream(packed_orb, tmp_path), downstream(packed_orb, "final-job"))
    set_arguments(b_config, "circleback/circle_back", {"upstream_workflow_id": ""})  # only the pipeline id
    projects = {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", b_config, outcome="1"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        old = run.run_until_settled(60).pipeline(A).workflow()
        (tmp_path / "b" / "outcome").write_text("0", encoding="utf-8")
        run.state.rerun_workflow(old.id)
        result = run.run_until_settled(60)
        approved = approvals(run.state)
    assert result.outcome == "settled", describe(result)
    new = result.pipeline(A).workflow()
    assert [w.status for w in result.pipeline(A).workflows] == ["failed", "success"], describe(result)
    assert approved == [old.id, new.id]
