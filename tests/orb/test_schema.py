"""check-jsonschema (vendored CircleCI schema) accepts the orb, its examples and the project's configs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.orb.runstep import packed_orb
from tools.orbkit.bundle import build_orb
from tools.orbkit.check import ORB_REF, project_configs
from tools.orbkit.emitter import dump
from tools.orbkit.schema import inline_orb, validate


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


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o["commands"]["check_status"].pop("steps"),
        lambda o: o["commands"]["check_status"]["steps"][0]["run"].update(when="sometimes"),
        lambda o: o["commands"]["check_status"]["parameters"]["timeout"].update(kind="x"),
        lambda o: o["jobs"]["trigger"].pop("steps"),
        lambda o: o["examples"]["circleci_server_host"].pop("usage"),
    ],
)
def test_schema_rejects_a_broken_orb(change: Any) -> None:
    orb = broken(change)
    assert validate(dump(orb), orb, ORB_REF, {}) != []


def test_schema_rejects_a_broken_config() -> None:
    config = {"version": 2.1, "orbs": {"circleback": {}}, "workflows": {"w": {"jobs": [{"x": {"requires": "a"}}]}}}
    config["jobs"] = {"x": {"steps": ["checkout"]}}  # a job with no executor
    assert validate(build_orb(), packed_orb(), ORB_REF, {"bad.yml": config}) != []
