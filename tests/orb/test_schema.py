"""check-jsonschema (vendored CircleCI schema) accepts the orb, its examples and the project's configs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.orb.runstep import packed_orb
from tools.orbkit.bundle import build_orb
from tools.orbkit.check import ORB_REF, project_configs
from tools.orbkit.emitter import dump
from tools.orbkit.schema import inline_orb, run_check_jsonschema, validate


def test_packed_orb_examples_and_project_configs_are_valid() -> None:
    configs = project_configs()
    assert {"config.yml", "test-deploy.yml"} <= set(configs)
    assert validate(build_orb(), packed_orb(), ORB_REF, configs) == []


def test_inline_orb_replaces_the_reference_and_the_placeholder() -> None:
    config = {"orbs": {"a": f"{ORB_REF}@0.1", "b": {}, "c": "other/orb@1"}}
    inlined = inline_orb(config, {"jobs": {}}, ORB_REF)
    assert inlined["orbs"] == {"a": {"jobs": {}}, "b": {"jobs": {}}, "c": "other/orb@1"}
    assert config["orbs"]["a"] == f"{ORB_REF}@0.1"


def broken(change: Any) -> dict[str, Any]:
    orb = copy.deepcopy(packed_orb())
    change(orb)
    return orb


def complaints_at(errors: list[str]) -> set[str]:
    """The ``file::$.path`` locations check-jsonschema names; a crash or a usage error names none."""
    assert errors, "check-jsonschema accepted it"
    assert errors[0] == "Schema validation errors were encountered.", "\n".join(errors)
    return {line.strip().split(": ", 1)[0] for line in errors if "::$" in line}


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda o: o["commands"]["check_status"].pop("steps"), "orb.yml::$.commands.check_status"),
        (
            lambda o: o["commands"]["check_status"]["steps"][0]["run"].update(when="sometimes"),
            "orb.yml::$.commands.check_status",
        ),
        (
            lambda o: o["commands"]["check_status"]["parameters"]["timeout"].update(kind="x"),
            "orb.yml::$.commands.check_status",
        ),
        (lambda o: o["jobs"]["trigger"].pop("steps"), "orb.yml::$.jobs.trigger"),
        (lambda o: o["examples"]["circleci_server_host"].pop("usage"), "orb.yml::$.examples.circleci_server_host"),
    ],
)
def test_schema_rejects_a_broken_orb(change: Any, location: str) -> None:
    orb = broken(change)
    assert location in complaints_at(validate(dump(orb), orb, ORB_REF, {}))


def test_schema_rejects_a_broken_config() -> None:
    config = {"version": 2.1, "orbs": {"circleback": {}}, "workflows": {"w": {"jobs": [{"x": {"requires": "a"}}]}}}
    config["jobs"] = {"x": {"steps": ["checkout"]}}  # a job with no executor
    errors = validate(build_orb(), packed_orb(), ORB_REF, {"bad.yml": config})
    assert complaints_at(errors) == {"bad.yml::$.workflows.w.jobs[0]", "bad.yml::$.jobs.x"}


def test_a_crash_of_the_validator_is_not_a_rejection(tmp_path: Path) -> None:
    """What the tests above count as a rejection must be check-jsonschema judging the files, not failing to run."""
    errors = run_check_jsonschema([tmp_path / "missing.yml"])
    assert errors
    assert errors[0] != "Schema validation errors were encountered."
    assert not any("::$" in line for line in errors)
