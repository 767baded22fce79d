"""Auto-cancel of redundant workflows when B is A's own project on A's non-default branch, end to end.

A monorepo runs its integration as a second pipeline of its own project: the config holds A's workflow (the
trigger_and_wait_for_downstream example, for a pipeline without a record) and B's (circle_back_with_final_job, for
a pipeline with one). With the project setting on, the pipeline A triggers on its own feature branch cancels A's
workflow, and A's trigger warned of it. On the default branch nothing is
canceled and the circleback completes.

Auto-cancel strikes as soon as the new pipeline exists, while A's trigger job still runs: A's hold never waits, the
handoff is never stored, and B's circle-back refuses the record nothing proves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.examples import CIRCLEBACK_PARAMETER, declare, set_arguments
from cb_helper.rehearse.spec import ProjectSpec
from tests.e2e.circleback import A, approvals, describe, downstream, step, upstream, write_project

AUTO_CANCEL = "with the project setting 'Auto-cancel redundant workflows' on, triggering it cancels this workflow"
NO_RECORD = {"equal": ["", "<< pipeline.parameters.circleback >>"]}


def monorepo(orb: Path, root: Path, branch: str) -> dict[str, Any]:
    config = upstream(orb, root)
    set_arguments(config, "trigger-project-b", {"project_slug": A, "branch": branch})
    b = downstream(orb, "final-job")
    set_arguments(b, "circleback/circle_back", {"allowed_projects": A})
    config["jobs"] = {**config.get("jobs", {}), **b["jobs"]}
    config["workflows"]["build-and-integrate"]["when"] = NO_RECORD
    config["workflows"]["tests"] = {**b["workflows"]["tests"], "unless": NO_RECORD}
    return declare(config, CIRCLEBACK_PARAMETER)


@pytest.mark.parametrize("branch", ["feature", "main"])
def test_a_triggering_its_own_branch_is_warned_and_on_a_non_default_branch_canceled(
    packed_orb: Path, tmp_path: Path, branch: str
) -> None:
    path = write_project(tmp_path, "a", monorepo(packed_orb, tmp_path, branch), outcome="0")
    spec = ProjectSpec(path, branches=("main", "feature"), auto_cancel=True)
    with Rehearsal({A: spec}, orbs={"circleback": packed_orb}, contexts={"circleci-api": {}}) as run:
        run.start(A, branch)
        result = run.run_until_settled(90)
        approved = approvals(run.state)
    first, second = result.pipelines_of(A)
    trigger_output = step(first.workflow().job("trigger-project-b"), "Trigger the downstream pipeline").output
    circle_back = second.workflow().job("circleback/circle_back")
    proof = step(circle_back, "Prove the upstream record").output
    if branch == "feature":
        assert result.outcome == "settled", describe(result)
        assert [line for line in trigger_output.splitlines() if AUTO_CANCEL in line] != []
        # The new pipeline canceled A's workflow while its trigger job still ran: the hold never waited and the
        # handoff was never stored. B's circle-back sees A stopped waiting and ends at once; nothing is approved.
        assert first.workflow().status == "canceled", describe(result)
        assert first.workflow().job("trigger-project-b").status == "canceled"
        assert first.workflow().job("wait-for-triggered-pipeline").status == "canceled"
        assert circle_back.status == "success"
        assert "the upstream stopped waiting; nothing approved" in proof
        assert approved == []
    else:
        assert result.outcome == "settled", describe(result)
        assert AUTO_CANCEL not in trigger_output
        assert first.workflow().status == "success", describe(result)
        assert second.workflow().status == "success"
        assert approved == [first.workflow().id]
