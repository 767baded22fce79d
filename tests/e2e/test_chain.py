"""A -> B -> C rehearsed: C's deadline nests inside B's, and one sweep of A's project cancels B and C."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from cb_helper.api.times import now
from cb_helper.pattern.record import parse_record
from cb_helper.rehearse.examples import localize, set_arguments
from cb_helper.sim import SimServer, SimState
from tests.e2e.circleback import A, B, C, describe, downstream, rehearsal, step, upstream, write_project
from tests.e2e.test_sweep import CHECK_STEP, HOLD, sweep, wait_until, when_started

#: B relays to C: it triggers C with its own record as upstream, holds, checks C, then circles back to A.
RELAY = """
version: 2.1
orbs:
  circleback: circleback/circleback@0.1
parameters:
  circleback: {type: string, default: ""}
workflows:
  relay:
    jobs:
      - circleback/trigger:
          name: trigger-project-c
          context: circleci-api
          project_slug: gh/acme/project-c
          branch: main
          hold_job: wait-for-project-c
          upstream: << pipeline.parameters.circleback >>
          chain_margin: 5s
      - wait-for-project-c: {type: approval, requires: [trigger-project-c]}
      - circleback/check_status:
          name: check-project-c
          context: circleci-api
          requires: [wait-for-project-c]
      - circleback/circle_back:
          context: circleci-api
          upstream: << pipeline.parameters.circleback >>
          requires:
            - trigger-project-c: terminal
            - wait-for-project-c: terminal
            - check-project-c: terminal
"""
MARGIN = timedelta(seconds=5)


def test_c_nests_inside_bs_deadline_and_one_sweep_cancels_b_and_c(packed_orb: Path, tmp_path: Path) -> None:
    a_config = upstream(packed_orb, tmp_path)
    set_arguments(a_config, "trigger-project-b", {"deadline": "20s"})
    b_config: dict[str, Any] = localize(yaml.safe_load(RELAY), tmp_path)
    projects = {
        A: write_project(tmp_path, "a", a_config),
        B: write_project(tmp_path, "b", b_config),
        C: write_project(tmp_path, "c", downstream(packed_orb, "final-job"), outcome="hang"),
    }
    outputs: list[subprocess.CompletedProcess[str]] = []
    with SimServer(SimState()) as server:

        def act() -> None:
            [b] = server.state.pipelines_of(B)
            record = parse_record(str(b.parameters["circleback"]))
            assert record is not None
            wait_until(lambda: now() > record.deadline + timedelta(seconds=1), timeout=40)
            outputs.append(sweep(server, "--cancel-project", B, "--cancel-project", C))

        hook = when_started(C, "unit-tests", act)
        with rehearsal(packed_orb, projects, server=server, on_event=hook) as run:
            run.start(A)
            result = run.run_until_settled(120)
            wait_until(lambda: len(outputs) == 1, timeout=60)
            [b_pipeline] = server.state.pipelines_of(B)
            [c_pipeline] = server.state.pipelines_of(C)
    assert result.outcome == "settled", describe(result)
    b_record = parse_record(str(b_pipeline.parameters["circleback"]))
    c_record = parse_record(str(c_pipeline.parameters["circleback"]))
    assert b_record is not None
    assert c_record is not None
    assert c_record.deadline <= b_record.deadline - MARGIN
    trigger_c = step(result.pipeline(B).job("trigger-project-c"), "Trigger the downstream pipeline")
    assert "less 5s for this pipeline's check and circle-back" in trigger_c.output
    [swept] = outputs
    assert swept.returncode == 0, swept.stderr
    assert "past the deadline" in swept.stdout
    assert (
        f"canceled 1 workflow(s) of B; released the hold; canceled 1 workflow(s) of {C} pipeline {c_pipeline.id}"
        in swept.stdout
    )
    assert [w.status for w in result.pipeline(B).workflows] == ["canceled"]
    assert [w.status for w in result.pipeline(C).workflows] == ["canceled"]
    assert result.pipeline(A).job(HOLD).status == "success"
    verdict = step(result.pipeline(A).job("check-project-b"), CHECK_STEP)
    assert verdict.exit_code == 4, verdict.output
