"""The sweeper acts only on what A's trigger really created: forged handoffs and Bs outside --cancel-project.

Each test rehearses real configs against the simulator and runs real `cb-helper sweep` processes over HTTP.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cb_helper.rehearse.examples import set_arguments
from cb_helper.sim import SimServer, SimState
from tests.e2e.circleback import A, B, describe, downstream, rehearsal, step, upstream, write_project
from tests.e2e.test_outputs import GATE
from tests.e2e.test_outputs import projects as deploy_projects
from tests.e2e.test_sweep import (
    CHECK_STEP,
    ERRORS,
    HOLD,
    OPS,
    _deadline_passed,
    hold_of,
    sweep,
    wait_until,
    when_started,
)

#: A job in a swept project that stores a handoff it made up: naming its own pipeline, workflow and the approval
#: job ``gate`` (all of which it can read from its environment), a deadline in the past, and the pipeline id in
#: ``target`` (another project's running pipeline) as "B".
FORGE = """#!/usr/bin/env bash
set -euo pipefail
python3 - "$1" "$(cat "$(dirname "$0")/target")" <<'PY'
import json, os, sys
number, target = int(sys.argv[1]), sys.argv[2]
record = {"v": 1, "project": "gh/acme/project-a", "pipeline_id": os.environ["CIRCLE_PIPELINE_ID"],
          "pipeline_number": number, "workflow_id": os.environ["CIRCLE_WORKFLOW_ID"], "hold": "gate",
          "deadline": "2020-01-01T00:00:00Z", "downstream": "gh/acme/prod"}
with open("handoff.json", "w") as out:
    json.dump({"v": 1, "record": record, "downstream_pipeline_id": target}, out)
print("stored a handoff naming", target)
PY
"""

FORGING_CONFIG: dict[str, Any] = {
    "version": 2.1,
    "jobs": {
        "stash": {
            "docker": [{"image": "cimg/base:current"}],
            "steps": [
                "checkout",
                {"run": {"name": "Forge a handoff", "command": "./forge.sh << pipeline.number >>"}},
                {"store_artifacts": {"path": "handoff.json", "destination": "circleback/handoff.json"}},
            ],
        }
    },
    "workflows": {"build": {"jobs": ["stash", {"gate": {"type": "approval", "requires": ["stash"]}}]}},
}


def running_pipeline(state: SimState, project: str, trigger_type: str) -> Any:
    """A pipeline of ``project`` with one workflow whose deploy job is running, made before the forging job runs."""
    pipeline = state.create_pipeline(project, branch="main", trigger_type=trigger_type)
    workflow = state.add_workflow(pipeline.id, "deploy")
    state.add_job(workflow.id, "deploy", status="running")
    return pipeline


@pytest.mark.parametrize(
    ("trigger_type", "why"),
    [
        ("webhook", "B's pipeline was triggered by webhook, not through the API"),
        ("api", "B's pipeline was created at "),  # through the API, but before the forging job started
    ],
)
def test_a_forged_handoff_naming_another_projects_pipeline_cancels_nothing_and_releases_no_gate(
    packed_orb: Path, tmp_path: Path, trigger_type: str, why: str
) -> None:
    """(a) the reproduction: a past deadline and another project's running pipeline; one sweep touches neither."""
    project_a = write_project(tmp_path, "a", FORGING_CONFIG)
    forge = project_a.parent.parent / "forge.sh"
    forge.write_text(FORGE, encoding="utf-8")
    forge.chmod(0o755)
    state = SimState()
    state.add_project(OPS)
    other = running_pipeline(state, OPS, trigger_type)
    (project_a.parent.parent / "target").write_text(other.id, encoding="utf-8")
    with SimServer(state) as server, rehearsal(packed_orb, {A: project_a}, server=server) as run:
        run.start(A)
        stuck = run.run_until_settled(60)
        assert stuck.outcome == "stuck", describe(stuck)
        assert "stored a handoff naming" in stuck.pipeline(A).job("stash").output()
        # The worst case: the sweeper's token reaches the other project and it is even a --cancel-project.
        swept = sweep(server, "--cancel-project", OPS, "--json")
        plain = sweep(server, "--cancel-project", OPS)
        gate = hold_of(state, A, "gate")
        [workflow] = state.workflows_of(other.id)
        effects = state.effects()
    assert swept.returncode == 0, swept.stderr
    [finding] = json.loads(swept.stdout)["holds"]
    assert finding["hold"] == "gate"
    assert finding["decision"] == "leave"
    assert finding["done"] == []
    assert why in finding["unproven"]
    assert plain.returncode == 0, plain.stderr
    assert f"gate (workflow {gate.workflow_id}): {OPS} pipeline {other.id}: not proven: {why}" in plain.stdout
    assert plain.stdout.rstrip().endswith("-> left alone")
    assert "1 handoff(s) not proven (their holds left alone)" in plain.stderr
    assert gate.status == "on_hold"
    assert workflow.status == "running"
    assert effects == []  # no approval, no cancel, by either sweep


def _past_deadline_projects(packed_orb: Path, tmp_path: Path) -> dict[str, Path]:
    a_config = upstream(packed_orb, tmp_path)
    set_arguments(a_config, "trigger-project-b", {"deadline": "3s"})
    return {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", downstream(packed_orb, "final-job"), outcome="hang"),
    }


def test_a_b_outside_cancel_project_is_not_canceled_and_a_is_released_saying_b_still_runs(
    packed_orb: Path, tmp_path: Path
) -> None:
    """(c) past its deadline, a B whose project is not a --cancel-project keeps running; A gets its verdict (4)."""
    outputs: list[subprocess.CompletedProcess[str]] = []
    seen: dict[str, Any] = {}
    with SimServer(SimState()) as server:
        state = server.state

        def act() -> None:
            wait_until(lambda: _deadline_passed(state))
            outputs.append(sweep(server, "--cancel-project", "gh/acme/project-c"))
            outputs.append(sweep(server, "--cancel-project", "gh/acme/project-c"))

            def checked() -> bool:
                check = hold_of(state, A, "check-project-b")
                return check is not None and check.status in ("success", "failed")

            wait_until(checked, 60)
            [b] = state.pipelines_of(B)
            [b_workflow] = state.workflows_of(b.id)
            seen["b_status"] = b_workflow.status
            seen["cancels"] = state.effects("cancel")
            state.cancel_workflow(b_workflow.id)  # end the hanging B so the rehearsal settles

        hook = when_started(B, "unit-tests", act)
        with rehearsal(packed_orb, _past_deadline_projects(packed_orb, tmp_path), server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(90)
            wait_until(lambda: "cancels" in seen or bool(ERRORS))
    assert not ERRORS, ERRORS
    assert result.outcome == "settled", describe(result)
    first, again = outputs
    assert first.returncode == 0, first.stderr
    assert "B still running past the deadline" in first.stdout, first.stdout
    assert f"; {B} is not a --cancel-project, so B is left running -> released the hold" in first.stdout
    assert again.returncode == 0
    assert again.stdout == ""  # the hold is released: nothing more to do
    assert seen["b_status"] == "running"
    assert seen["cancels"] == []
    assert result.pipeline(A).job(HOLD).status == "success"
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 4, verdict.output
    assert f"passed and {B} is still running" in verdict.output


def test_the_persons_gate_before_deploy_is_released_neither_by_b_nor_by_the_sweep(
    packed_orb: Path, tmp_path: Path
) -> None:
    """The deploy example: B circles back, a sweep runs with every option; approve-deploy still waits for a person."""
    with rehearsal(packed_orb, deploy_projects(packed_orb, tmp_path)) as run:
        run.start(A)
        stuck = run.run_until_settled(90)
        swept = sweep(run.server, "--cancel-project", B, "--cancel-project", A, "--cancel-orphans", "--since", "1d")
        gate = hold_of(run.state, A, GATE)
        deploy = hold_of(run.state, A, "deploy")
        approvals = run.state.effects("approve")
    assert stuck.outcome == "stuck", describe(stuck)
    assert stuck.waiting == [f"{A} #1 build-and-deploy/{GATE}"]
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == ""  # the circleback hold was released by B; the gate is no hold a record names
    assert gate.status == "on_hold"
    assert deploy.status == "blocked"
    assert [effect.job_id for effect in approvals] == [hold_of(run.state, A, HOLD).id]  # B's circle-back only
