"""Each semantic check rejects a crafted bad orb; the real orb passes them all."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from tests.orb.runstep import packed_orb
from tools.orbkit.check import ORB_REF
from tools.orbkit.semantic import check_orb

GOOD: dict[str, Any] = {
    "version": 2.1,
    "commands": {
        "greet": {
            "parameters": {
                "to": {"type": "string", "default": "World"},
                "who": {"type": "string"},
                "key": {"type": "env_var_name", "default": "CIRCLE_TOKEN"},
            },
            "steps": [{"run": {"name": "Greet", "command": "echo << parameters.to >> << parameters.who >>"}}],
        }
    },
    "executors": {"default": {"docker": [{"image": "cimg/base:current"}]}},
    "jobs": {
        "hello": {
            "executor": "default",
            "parameters": {"loud": {"type": "boolean", "default": False}},
            "steps": [
                "checkout",
                {"greet": {"who": "you"}},
                {"when": {"condition": "<< parameters.loud >>", "steps": ["checkout"]}},
            ],
        }
    },
    "examples": {
        "use": {
            "description": "d",
            "usage": {
                "version": "2.1",
                "orbs": {"x": f"{ORB_REF}@1.0"},
                "workflows": {"w": {"jobs": ["x/hello", {"hold": {"type": "approval"}}]}},
            },
        }
    },
}


def mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    orb = copy.deepcopy(GOOD)
    change(orb)
    return orb


def test_good_orb_and_real_orb_pass() -> None:
    assert check_orb(GOOD, ORB_REF) == []
    heredoc = mutate(lambda o: _greet(o)["steps"][0]["run"].update(command="cat \\<<EOF\nx \\<<< y\nEOF\n"))
    assert check_orb(heredoc, ORB_REF) == []  # an escaped << that is no reference is fine
    assert check_orb(packed_orb(), ORB_REF) == []


def _greet(orb: dict[str, Any]) -> dict[str, Any]:
    greet: dict[str, Any] = orb["commands"]["greet"]
    return greet


BAD: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "undeclared parameter",
        lambda o: _greet(o)["steps"][0]["run"].update(command="echo << parameters.nobody >>"),
        "no parameter 'nobody' is declared",
    ),
    (
        "enum default outside the enum",
        lambda o: _greet(o)["parameters"].update(m={"type": "enum", "enum": ["a", "b"], "default": "c"}),
        "is not one of the enum values",
    ),
    (
        "boolean default as a string",
        lambda o: _greet(o)["parameters"].update(b={"type": "boolean", "default": "on"}),
        "is not a boolean",
    ),
    (
        "integer default as a string",
        lambda o: _greet(o)["parameters"].update(i={"type": "integer", "default": "3"}),
        "is not an integer",
    ),
    (
        "env_var_name default that is no name",
        lambda o: _greet(o)["parameters"].update(key={"type": "env_var_name", "default": "$TOKEN"}),
        "is not an environment variable name",
    ),
    (
        "unknown parameter type",
        lambda o: _greet(o)["parameters"].update(t={"type": "text"}),
        "type 'text' is not one of",
    ),
    (
        "call to an undefined command",
        lambda o: o["jobs"]["hello"]["steps"].append("no_such_command"),
        "neither a built-in step nor a command",
    ),
    (
        "call to an undefined executor",
        lambda o: o["jobs"]["hello"].update(executor="nowhere"),
        "executor 'nowhere' is not defined",
    ),
    (
        "missing required parameter",
        lambda o: o["jobs"]["hello"]["steps"].__setitem__(1, "greet"),
        "required parameter 'who' is not given",
    ),
    (
        "unknown argument",
        lambda o: o["jobs"]["hello"]["steps"][1]["greet"].update(whom="x"),
        "parameter 'whom' is not declared",
    ),
    (
        "pipeline parameters inside the orb",
        lambda o: _greet(o)["steps"][0]["run"].update(command="echo << pipeline.parameters.x >>"),
        "pipeline parameters, which are not in scope",
    ),
    (
        "parameter inside an included script",
        lambda o: _greet(o)["steps"][0]["run"].update(command="#!/bin/bash\necho \\<< parameters.to >>\n"),
        "an included script refers to << parameters.to >>",
    ),
    (
        "mustache section inside an included script",
        lambda o: _greet(o)["steps"][0]["run"].update(command="echo \\<<# parameters.to >>x\\<</ parameters.to >>"),
        "an included script refers to << parameters.to >>",
    ),
    (
        "nested call inside when",
        lambda o: o["jobs"]["hello"]["steps"][2]["when"]["steps"].append("missing"),
        "'missing' is neither",
    ),
    (
        "example calls an unknown job",
        lambda o: o["examples"]["use"]["usage"]["workflows"]["w"]["jobs"].append("x/nope"),
        "is not a job of this orb",
    ),
    (
        "example misses a required job parameter",
        lambda o: o["jobs"]["hello"]["parameters"].update(need={"type": "string"}),
        "required parameter 'need' is not given",
    ),
    (
        "upper-case component name",
        lambda o: o["commands"].update(Greet=o["commands"]["greet"]),
        "is not lower-case",
    ),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=i) for i, c, m in BAD])
def test_each_check_rejects_its_bad_orb(change: Callable[[dict[str, Any]], None], message: str) -> None:
    findings = [str(f) for f in check_orb(mutate(change), ORB_REF)]
    assert any(message in f for f in findings), findings
