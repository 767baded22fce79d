"""The orb's footprint in a pipeline: each run command and each orb job within budget (an orbkit rule of
``make orb-check``), and an A fanning out to 20 downstreams compiles far below CircleCI's 8 MB cap."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.orb.runstep import packed_orb
from tools.orbkit.bundle import ORB_SRC
from tools.orbkit.cli import main
from tools.orbkit.footprint import (
    COMMAND_BUDGET,
    FAN_OUT_BUDGET,
    FAN_OUT_DOWNSTREAMS,
    JOB_BUDGET,
    budget_problems,
    compiled_config,
    fan_out_config,
    job_expansions,
    run_commands,
)


def _install_command() -> str:
    return str(packed_orb()["commands"]["install_helper"]["steps"][0]["run"]["command"]).replace("\\<<", "<<")


def test_every_command_and_every_job_of_the_orb_is_within_budget() -> None:
    orb = packed_orb()
    assert budget_problems(orb) == []
    commands = {size.where: size.size for size in run_commands(orb)}
    assert max(commands.values()) == commands["commands/install_helper step 1"] <= COMMAND_BUDGET
    jobs = {size.where: size.size for size in job_expansions(orb)}
    assert set(jobs) == {f"jobs/{name}" for name in orb["jobs"]}
    # Each job inlines the whole install command, and stays within budget with it.
    assert all(commands["commands/install_helper step 1"] < size <= JOB_BUDGET for size in jobs.values())


def test_a_65_kib_command_fails_the_orb_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    shutil.copytree(ORB_SRC, source, ignore=shutil.ignore_patterns("helper_bundle.sh"))
    script = source / "scripts" / "sweep.sh"
    text = script.read_text()
    padding = "# padding\n" * ((65 * 1024 - len(text)) // 10 + 1)
    script.write_text(text + padding)
    assert main(["check", str(source)]) == 1
    report = capsys.readouterr().out
    [failed] = [line for line in report.splitlines() if line.startswith("FAIL")]
    assert "footprint" in failed
    size = len(text + padding)
    assert 65 * 1024 <= size < 66 * 1024
    assert f"commands/sweep step 1: the run command is {size} bytes (at most {COMMAND_BUDGET}, 64 KiB)" in report


def test_a_job_over_80_kb_breaks_the_budget_though_each_command_is_within() -> None:
    orb: dict[str, Any] = copy.deepcopy(packed_orb())
    orb["commands"]["report"] = {"steps": [{"run": {"name": "Report", "command": "echo report\n" * 3000}}]}
    orb["jobs"]["heavy"] = {"executor": "default", "steps": ["install_helper", "report"]}
    problems = budget_problems(orb)
    assert len(problems) == 1
    assert problems[0].startswith("jobs/heavy: the job compiles to ")
    assert problems[0].endswith(f"bytes (at most {JOB_BUDGET}, 80 KB)")


def test_an_a_fanning_out_to_20_downstreams_compiles_under_3_mb() -> None:
    orb = packed_orb()
    text = compiled_config(fan_out_config(orb, FAN_OUT_DOWNSTREAMS), orb)
    compiled = yaml.safe_load(text)
    [workflow] = [v for k, v in compiled["workflows"].items() if k != "version"]
    entries = [next(iter(e)) if isinstance(e, dict) else e for e in workflow["jobs"]]
    assert len(entries) == 3 * FAN_OUT_DOWNSTREAMS
    holds = [e for e in workflow["jobs"] if isinstance(e, dict) and next(iter(e.values())).get("type") == "approval"]
    assert len(holds) == FAN_OUT_DOWNSTREAMS
    # 20 triggers and 20 checks, each with the orb's commands (the bundled helper included) inlined.
    assert len(compiled["jobs"]) == 2 * FAN_OUT_DOWNSTREAMS
    install = _install_command()
    for job in compiled["jobs"].values():
        assert install in [step["run"]["command"] for step in job["steps"] if "run" in step]
    size = len(text.encode())
    assert 2 * FAN_OUT_DOWNSTREAMS * len(install) < size < FAN_OUT_BUDGET
