"""A -> B (dynamic config) -> A: B's setup workflow continues its pipeline, B circles back from the continued config.

B is the orb's ``circle_back_from_dynamic_config`` example (the setup config, continuing with curl as the
continuation orb does) and, as ``.circleci/continue.yml``, the ``circle_back_with_final_job`` example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

from cb_helper.rehearse.examples import CIRCLEBACK_PARAMETER, declare, example_config, set_arguments
from cb_helper.rehearse.timeline import Event
from tests.e2e.circleback import A, B, approvals, describe, downstream, rehearsal, step, upstream, write_project

HOLD = "wait-for-triggered-pipeline"
CHECK_STEP = "Check the downstream pipeline"
TRIGGER_STEP = "Trigger the downstream pipeline"
SETUP_JOB = "continue-with-tests"


def dynamic_b(orb: Path, root: Path, outcome: str, setup: Optional[dict[str, Any]] = None) -> Path:
    """B's directory: the setup config and the continued config, both declaring ``circleback``."""
    config = setup or declare(example_config(orb, "circle_back_from_dynamic_config"), CIRCLEBACK_PARAMETER)
    path = write_project(root, "b", config, outcome=outcome)
    continued = downstream(orb, "final-job")
    (path.parent / "continue.yml").write_text(yaml.safe_dump(continued, sort_keys=False), encoding="utf-8")
    return path


def test_a_passes_when_a_dynamic_config_b_passes(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: dynamic_b(packed_orb, tmp_path, "0"),
    }
    with rehearsal(packed_orb, projects) as run:
        a_id = run.start(A)
        result = run.run_until_settled(90)
        approved = approvals(run.state)
        [b_pipeline] = run.state.pipelines_of(B)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert b_pipeline.state == "created"
    assert b_pipeline.continued
    assert [w.name for w in b.workflows] == ["setup", "tests"], describe(result)
    assert b.workflow("setup").job(SETUP_JOB).status == "success"
    assert b.workflow("setup").job("circleback/circle_back").status == "not_run"  # only when the setup fails
    assert b.workflow("tests").status == "success"
    assert approved == [a.workflow().id]  # the continued config circled back with the record it kept
    assert a.id == a_id
    assert a.workflow().status == "success", describe(result)
    verdict = step(a.job("check-project-b"), CHECK_STEP).output
    assert f"released: {B} circled back: success" in verdict


def test_a_fails_naming_the_failed_job_when_a_dynamic_config_b_fails(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: dynamic_b(packed_orb, tmp_path, "3"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(90)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    assert b.workflow("tests").status == "failed"
    assert a.job(HOLD).status == "success"
    check = a.job("check-project-b")
    assert check.status == "failed", describe(result)
    verdict = step(check, CHECK_STEP)
    assert verdict.exit_code == 1
    assert "failed job: unit-tests" in verdict.output
    assert "failed job: integration-tests" in verdict.output


def test_a_continuation_that_drops_the_record_is_refused_and_a_is_released_naming_the_setup(
    packed_orb: Path, tmp_path: Path
) -> None:
    # The continued config does not declare circleback: CircleCI refuses the continuation (the trigger's parameters
    # stay with the pipeline), the setup job fails, and the setup config's own circle_back releases A.
    projects = {
        A: write_project(tmp_path, "a", upstream(packed_orb, tmp_path)),
        B: dynamic_b(packed_orb, tmp_path, "0"),
    }
    (tmp_path / "b" / ".circleci" / "continue.yml").write_text(
        yaml.safe_dump(downstream(packed_orb, "final-job", declared=False)), encoding="utf-8"
    )
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(90)
    assert result.outcome == "settled", describe(result)
    a, b = result.pipeline(A), result.pipeline(B)
    setup = b.workflow("setup").job(SETUP_JOB)
    assert setup.status == "failed"
    assert "config compilation contains errors:" in setup.output()
    assert [w.name for w in b.workflows] == ["setup"]
    assert a.job(HOLD).status == "success"
    verdict = step(a.job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 1, describe(result)
    assert f"failed job: {SETUP_JOB}" in verdict.output


def test_a_setup_that_outlasts_the_start_check_does_not_fail_the_trigger(packed_orb: Path, tmp_path: Path) -> None:
    # B's setup job does not end before A's trigger job has finished: whatever the start check's timeout (the old
    # check waited for `created` and gave up after 120 s; here 3 s, so the old behaviour fails fast), the
    # trigger must count the running setup workflow as B having started.
    release = tmp_path / "release-setup"
    setup = declare(example_config(packed_orb, "circle_back_from_dynamic_config"), CIRCLEBACK_PARAMETER)
    wait = f"for _ in $(seq 900); do [ -f {release} ] && exit 0; sleep 0.1; done; exit 1"
    steps = setup["jobs"][SETUP_JOB]["steps"]
    steps.insert(0, {"run": {"name": "A slow setup", "command": wait}})
    a_config = upstream(packed_orb, tmp_path)
    set_arguments(a_config, "trigger-project-b", {"start_timeout": 3})
    seen: dict[str, str] = {}

    def on_event(event: Event) -> None:
        if event.kind == "job_finished" and event.project == A and event.job == "trigger-project-b":
            seen["b_state"] = run.state.pipelines_of(B)[0].state
            release.write_text("go", encoding="utf-8")

    projects = {A: write_project(tmp_path, "a", a_config), B: dynamic_b(packed_orb, tmp_path, "0", setup)}
    with rehearsal(packed_orb, projects, on_event=on_event) as run:
        run.start(A)
        result = run.run_until_settled(90)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert a.job("trigger-project-b").status == "success", describe(result)
    assert seen["b_state"] == "setup"  # B was still in its setup when A's trigger finished
    said = step(a.job("trigger-project-b"), TRIGGER_STEP).output
    assert "started: setup (running); a dynamic config: its setup workflow continues it" in said
    assert a.workflow().status == "success", describe(result)
