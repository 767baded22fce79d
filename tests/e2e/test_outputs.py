"""What B found comes back to A, end to end: B's outputs reach A's deploy job, B's failing tests A's Tests tab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cb_helper.rehearse.examples import CIRCLEBACK_PARAMETER, declare, example_config, localize
from cb_helper.rehearse.timeline import RehearsalResult
from cb_helper.sim import SimState
from tests.e2e.circleback import A, B, approvals, describe, rehearsal, step, write_project

HOLD = "wait-for-triggered-pipeline"
GATE = "approve-deploy"  # a person's approval before the deploy job and its restricted context
CHECK = "check-project-b"
CHECK_STEP = "Check the downstream pipeline"
DIGEST = "sha256:" + "4f" * 32

#: B's tests: copy the JUnit report the test wrote beside the script, and fail when it holds a failure.
RUN_TESTS = """#!/usr/bin/env bash
suite="${1:-all}"
mkdir -p test-results
cp "$(dirname "$0")/junit-$suite.xml" "test-results/$suite.xml"
echo "ran the $suite tests"
if grep -q "<failure" "test-results/$suite.xml"; then exit 1; fi
"""
BUILD_IMAGE = """#!/usr/bin/env bash
cat "$(dirname "$0")/digest"
"""


def junit(suite: str, passing: int, failures: dict[str, str]) -> str:
    cases = [
        f'<testcase name="test_ok_{i}" classname="{suite}.checks" file="tests/{suite}.py"/>' for i in range(passing)
    ]
    cases += [
        f'<testcase name="{name}" classname="{suite}.checks" file="tests/{suite}.py">'
        f'<failure message="{message}">Traceback (most recent call last)</failure></testcase>'
        for name, message in failures.items()
    ]
    return f'<testsuite name="{suite}">{"".join(cases)}</testsuite>\n'


def projects(
    orb: Path, root: Path, *, digest: str = DIGEST, integration_failures: dict[str, str] | None = None
) -> dict[str, Path]:
    a_config = localize(example_config(orb, "deploy_with_downstream_outputs"), root)
    b_config = declare(example_config(orb, "circle_back_with_outputs"), CIRCLEBACK_PARAMETER)
    b_path = write_project(root, "b", b_config)
    b_dir = b_path.parent.parent
    for name, text in (("run-tests.sh", RUN_TESTS), ("build-image.sh", BUILD_IMAGE)):
        (b_dir / name).write_text(text, encoding="utf-8")
        (b_dir / name).chmod(0o755)
    (b_dir / "digest").write_text(digest + "\n", encoding="utf-8")
    (b_dir / "junit-unit.xml").write_text(junit("unit", 3, {}), encoding="utf-8")
    (b_dir / "junit-integration.xml").write_text(junit("integration", 2, integration_failures or {}), encoding="utf-8")
    return {A: write_project(root, "a", a_config), B: b_path}


def approve_as_a_person(state: SimState) -> str:
    """Approve A's ``approve-deploy`` as a person would in the web app; the person's user id."""
    person = state.add_token("release-manager-token", login="release-manager", name="Release Manager")
    [pipeline] = state.pipelines_of(A)
    [workflow] = state.workflows_of(pipeline.id)
    [gate] = [job for job in state.jobs_of(workflow.id) if job.name == GATE]
    state.approve_job(workflow.id, gate.id, approver=person.id)
    return person.id


def rehearse(orb: Path, paths: dict[str, Path]) -> tuple[RehearsalResult, Any, list[str]]:
    with rehearsal(orb, paths) as run:
        run.start(A)
        result = run.run_until_settled(90)
        if result.outcome == "stuck":  # B passed: A's deploy waits for a person
            assert result.waiting == [f"{A} #1 build-and-deploy/{GATE}"], describe(result)
            person = approve_as_a_person(run.state)
            result = run.run_until_settled(90)
            assert result.pipeline(A).job(GATE).status == "success"
            [approved] = run.state.effects("approve", job_id=result.pipeline(A).job(GATE).id)
            assert approved.actor == person  # not the token owner of B's circle-back
        assert result.outcome == "settled", describe(result)
        check = result.pipeline(A).job(CHECK)
        stored = run.state.tests_of(A, check.number) if check.number else []
        b_jobs = {job.name: job.number for job in result.pipeline(B).workflow().jobs}
        circled = b_jobs["circleback/circle_back"]
        assert circled is not None, describe(result)
        artifacts = [a.path for a in run.state.artifacts_of(B, circled) or []]
        return result, stored, artifacts


def test_an_output_of_b_reaches_a_deploy_job_through_the_workspace(packed_orb: Path, tmp_path: Path) -> None:
    result, stored, artifacts = rehearse(packed_orb, projects(packed_orb, tmp_path))
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.workflow().status == "success", describe(result)
    assert a.workflow().status == "success", describe(result)
    assert {"circleback/receipt.json", "circleback/outputs.json"} <= set(artifacts)
    verdict = step(a.job(CHECK), CHECK_STEP).output
    assert "project-b: 1 workflow succeeded, 5 tests passed" in verdict
    assert f"{B} sent 1 output(s): image_digest" in verdict
    assert "exported to later steps: CIRCLEBACK_image_digest" in verdict
    assert stored == []  # nothing failed in B: no test results to show in A
    deploy = step(a.job("deploy"), "Deploy the image project B built").output
    assert f"deploying image {DIGEST}" in deploy


def test_b_failing_tests_show_in_a_check_and_its_stored_test_results(packed_orb: Path, tmp_path: Path) -> None:
    failures = {
        "test_checkout_total": "AssertionError: expected 42, got 41",
        "test_refund_flow": "TimeoutError: payment service did not answer in 5s",
    }
    result, stored, _ = rehearse(packed_orb, projects(packed_orb, tmp_path, integration_failures=failures))
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.workflow().job("integration-tests").status == "failed", describe(result)
    assert b.workflow().job("unit-tests").status == "success"
    assert a.job(HOLD).status == "success"
    check = a.job(CHECK)
    assert check.status == "failed"
    verdict = step(check, CHECK_STEP)
    assert verdict.exit_code == 1
    assert "failed job: integration-tests (failed)" in verdict.output
    assert "failed job: unit-tests" not in verdict.output
    for name, message in failures.items():
        assert f"integration-tests: {name} (tests/integration.py): {message}" in verdict.output
    assert a.job(GATE).status == "not_run"  # no person is asked to approve a deploy of a failing B
    assert a.job("deploy").status == "not_run"
    assert sorted((t.name, t.result, t.message) for t in stored) == sorted(
        (name, "failure", message) for name, message in failures.items()
    )
    assert {t.classname for t in stored} == {"integration.checks"}


def test_invalid_outputs_do_not_stop_the_circle_back_and_a_says_so(packed_orb: Path, tmp_path: Path) -> None:
    result, _, artifacts = rehearse(packed_orb, projects(packed_orb, tmp_path, digest='not"json'))
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.workflow().status == "success", describe(result)
    circle_back = b.workflow().job("circleback/circle_back")
    assert "warning: no valid outputs for the upstream" in circle_back.output()
    assert a.job(HOLD).status == "success"
    assert "circleback/receipt.json" in artifacts
    check = a.job(CHECK)
    assert check.status == "success", describe(result)
    assert f"{B} sent no valid outputs: " in step(check, CHECK_STEP).output
    deploy = step(a.job("deploy"), "Deploy the image project B built")
    assert deploy.status == "failed"
    assert "project B sent no image_digest" in deploy.output


def test_the_receipt_carries_the_outputs_b_validated(packed_orb: Path, tmp_path: Path) -> None:
    paths = projects(packed_orb, tmp_path)
    with rehearsal(packed_orb, paths) as run:
        run.start(A)
        result = run.run_until_settled(90)
        number = result.pipeline(B).workflow().job("circleback/circle_back").number
        assert number is not None, describe(result)
        receipt = json.loads(run.state.artifact_content(B, number, 0, "circleback/receipt.json") or b"{}")
        outputs = json.loads(run.state.artifact_content(B, number, 0, "circleback/outputs.json") or b"{}")
    assert receipt["outputs"] == {"status": "valid", "values": {"image_digest": DIGEST}}
    assert receipt["outcome"] == "proven"
    assert outputs == {"image_digest": DIGEST}
    assert approvals(run.state) == [result.pipeline(A).workflow().id]
