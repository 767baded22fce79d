"""The trigger's wiring check with the orb as shipped: the job's own name ($CIRCLE_JOB) tells the trigger which
job the hold must require, so the indirect wiring fails A's trigger before B exists, and the fix runs through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.e2e.circleback import UPSTREAM_CONFIG, A, B, describe, downstream, rehearsal, step, write_project

TRIGGER_STEP = "Trigger the downstream pipeline"


def a_config(hold_requires: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(UPSTREAM_CONFIG)
    config["jobs"] = {
        "sign-bundle": {"docker": [{"image": "cimg/base:current"}], "steps": [{"run": "echo signed"}]},
    }
    jobs = config["workflows"]["build-and-integrate"]["jobs"]
    jobs.insert(1, {"sign-bundle": {"requires": ["trigger-project-b"]}})
    jobs[2]["wait-for-triggered-pipeline"]["requires"] = hold_requires
    for job in jobs:
        for arguments in job.values():
            if isinstance(arguments, dict) and "project_slug" in arguments:
                arguments["workspace_root"] = "/tmp/circleback-wiring"
            if isinstance(arguments, dict) and arguments.get("name") == "check-project-b":
                arguments["workspace_root"] = "/tmp/circleback-wiring"
    return config


def test_a_hold_behind_a_build_job_fails_as_trigger_before_b_is_triggered(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", a_config(["sign-bundle"])),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(120)
        b_pipelines = run.state.pipelines_of(B)
    assert result.outcome == "settled", describe(result)  # nothing is left on hold
    assert b_pipelines == []
    trigger = step(result.pipeline(A).job("trigger-project-b"), TRIGGER_STEP)
    assert trigger.exit_code == 2, trigger.output
    assert (
        "approval job 'wait-for-triggered-pipeline' must require this trigger job 'trigger-project-b' directly: it "
        "requires 'trigger-project-b' only through other jobs (trigger-project-b -> sign-bundle -> "
        "wait-for-triggered-pipeline)"
    ) in trigger.output
    assert "(requires: [sign-bundle, trigger-project-b])" in trigger.output
    assert result.pipeline(A).job("wait-for-triggered-pipeline").status != "on_hold"


def test_the_fixed_wiring_circles_back(packed_orb: Path, tmp_path: Path) -> None:
    projects = {
        A: write_project(tmp_path, "a", a_config(["sign-bundle", "trigger-project-b"])),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="0"),
    }
    with rehearsal(packed_orb, projects) as run:
        run.start(A)
        result = run.run_until_settled(120)
    assert result.outcome == "settled", describe(result)
    a = result.pipeline(A)
    assert a.job("wait-for-triggered-pipeline").status == "success"
    assert a.job("check-project-b").status == "success", describe(result)
