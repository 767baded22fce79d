"""Workspaces in the runner: a job sees the layers of its ancestors only, in the order they finished, and a rerun
starts from the workspace of the workflow it reruns."""

from __future__ import annotations

from pathlib import Path

import pytest

from cb_helper.rehearse.engine import ProjectSpec, Rehearsal
from tests.rehearse.helpers import write_project

A = "gh/acme/project-a"
JOB = "docker: [{image: cimg/base:current}]"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


def rehearse(tmp_path: Path, config: str, shared: Path) -> Rehearsal:
    spec = ProjectSpec(write_project(tmp_path, "project-a", config), branches=("main",))
    return Rehearsal({A: spec}, project_env={"SHARED": str(shared)})


def test_a_job_that_is_not_downstream_sees_no_layer_even_after_it_was_persisted(tmp_path: Path, shared: Path) -> None:
    """`apart` starts only once `make` has finished and persisted, yet `make` is not among its ancestors."""
    wait_for_use = 'for i in $(seq 300); do [ -e "$SHARED/used" ] && exit 0; sleep 0.1; done; exit 1'
    config = f"""
    version: 2.1
    jobs:
      make:
        {JOB}
        steps:
          - run: mkdir -p out && echo made > out/file.txt
          - persist_to_workspace: {{root: out, paths: [file.txt]}}
      use:
        {JOB}
        steps:
          - attach_workspace: {{at: ws}}
          - run: cat ws/file.txt && touch "$SHARED/used"
      gate: {{ {JOB}, steps: [{{run: '{wait_for_use}'}}] }}
      apart:
        {JOB}
        steps:
          - attach_workspace: {{at: ws}}
          - run: test ! -e ws/file.txt
    workflows:
      main:
        jobs: [make, {{use: {{requires: [make]}}}}, gate, {{apart: {{requires: [gate]}}}}]
    """
    with rehearse(tmp_path, config, shared) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(60)
    workflow = result.pipeline(A).workflow()
    assert {j.name: j.status for j in workflow.jobs} == {
        "make": "success", "use": "success", "gate": "success", "apart": "success",
    }  # fmt: skip
    assert workflow.job("use").steps[0].output == "Attached the workspace layers of make\n"
    assert workflow.job("apart").steps[0].output == "Attached the workspace layers of no upstream job\n"


def test_later_layers_win_in_the_order_jobs_finished(tmp_path: Path, shared: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      write:
        {JOB}
        parameters: {{text: {{type: string}}}}
        steps:
          - run: mkdir -p out && echo << parameters.text >> > out/version.txt
          - persist_to_workspace: {{root: out, paths: [version.txt]}}
      read:
        {JOB}
        steps:
          - attach_workspace: {{at: ws}}
          - run: cat ws/version.txt
    workflows:
      main:
        jobs:
          - write: {{name: first, text: one}}
          - write: {{name: second, text: two, requires: [first]}}
          - read: {{requires: [second]}}
    """
    with rehearse(tmp_path, config, shared) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(60)
    read = result.pipeline(A).workflow().job("read")
    assert read.status == "success"
    assert read.steps[0].output == "Attached the workspace layers of first, second\n"
    assert read.steps[1].output.strip() == "two"


def test_a_rerun_from_failed_starts_from_the_old_workspace(tmp_path: Path, shared: Path) -> None:
    """`make` is carried over, not run again: its layer must still reach the rerun `use`."""
    flaky = 'if [ -e "$SHARED/second-try" ]; then cat ws/file.txt; else touch "$SHARED/second-try"; exit 1; fi'
    config = f"""
    version: 2.1
    jobs:
      make:
        {JOB}
        steps:
          - run: mkdir -p out && echo made > out/file.txt
          - persist_to_workspace: {{root: out, paths: [file.txt]}}
      use:
        {JOB}
        steps:
          - attach_workspace: {{at: ws}}
          - run: '{flaky}'
    workflows:
      main: {{jobs: [make, {{use: {{requires: [make]}}}}]}}
    """
    with rehearse(tmp_path, config, shared) as rehearsal:
        rehearsal.start(A)
        first = rehearsal.run_until_settled(60)
        old = first.pipeline(A).workflow()
        assert old.status == "failed"
        rehearsal.state.rerun_workflow(old.id, from_failed=True)
        result = rehearsal.run_until_settled(60)
    rerun = result.pipeline(A).workflow()
    assert rerun.id != old.id
    assert rerun.job("make").number == old.job("make").number
    use = rerun.job("use")
    assert use.status == "success", use.output()
    assert use.steps[0].output == "Attached the workspace layers of make\n"
    assert use.steps[1].output.strip() == "made"
