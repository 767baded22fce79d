"""The project setting "Auto-cancel redundant workflows", over real HTTP: a new pipeline on a non-default branch
cancels the branch's unfinished workflows, API-triggered pipelines included; the default branch never."""

from __future__ import annotations

import pytest
import requests

from cb_helper.sim import SimServer
from tests.conftest import PROJECT_A


def held(sim: SimServer, branch: str) -> str:
    """A pipeline of project A on ``branch`` whose workflow holds; returns the workflow's id."""
    pipeline = sim.state.create_pipeline(PROJECT_A, branch=branch)
    workflow = sim.state.add_workflow(pipeline.id, "build-and-integrate")
    sim.state.add_job(workflow.id, "trigger", status="success")
    sim.state.add_job(workflow.id, "hold", type="approval", status="on_hold")
    return workflow.id


@pytest.mark.parametrize(
    ("auto_cancel", "branch", "canceled"),
    [(True, "feature", True), (True, "main", False), (False, "feature", False)],
)
def test_a_triggered_pipeline_cancels_its_branch_s_held_workflow_only_where_the_setting_says(
    sim: SimServer, auto_cancel: bool, branch: str, canceled: bool
) -> None:
    sim.state.add_project(PROJECT_A, branches=("main", "feature"), auto_cancel=auto_cancel)
    waiting = held(sim, branch)
    elsewhere = held(sim, "main" if branch == "feature" else "feature")
    answer = requests.post(
        f"{sim.url}/api/v2/project/{PROJECT_A}/pipeline",
        json={"branch": branch},
        headers={"Circle-Token": sim.token},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    status = requests.get(f"{sim.url}/api/v2/workflow/{waiting}", headers={"Circle-Token": sim.token}, timeout=30)
    assert status.json()["status"] == ("canceled" if canceled else "on_hold")
    assert sim.state.get_workflow(elsewhere).status == "on_hold"  # another branch is never touched
    assert len(sim.state.effects("cancel")) == (1 if canceled else 0)
