"""Parameter declarations, type checks and binding."""

from __future__ import annotations

import pytest

from cb_helper.rehearse.errors import ConfigError, UnexpectedArguments
from cb_helper.rehearse.parameters import bind, bind_pipeline, parse_declarations
from cb_helper.rehearse.templating import Scoped

DECLARATIONS = parse_declarations(
    {
        "name": {"type": "string"},
        "loud": {"type": "boolean", "default": False},
        "count": {"type": "integer", "default": 1},
        "color": {"type": "enum", "enum": ["red", "blue"], "default": "red"},
        "token": {"type": "env_var_name", "default": "CIRCLE_TOKEN"},
        "extra": {"type": "steps", "default": []},
    }
)


def test_defaults_fill_in_and_steps_carry_their_namespace() -> None:
    bound = bind(DECLARATIONS, {"name": "x", "extra": [{"run": "ls"}]}, caller="caller", callee="callee")
    assert bound["name"] == "x"
    assert bound["loud"] is False
    assert bound["color"] == "red"
    assert bound["extra"] == Scoped([{"run": "ls"}], "caller")
    defaulted = bind(DECLARATIONS, {"name": "x"}, caller="caller", callee="callee")
    assert defaulted["extra"] == Scoped([], "callee")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "Missing required argument(s): name"),
        ({"name": "x", "bogus": 1, "other": 2}, "Unexpected argument(s): bogus, other"),
        ({"name": 5}, "Type error for argument name: expected type: string, actual value: 5 (type integer)"),
        ({"name": "x", "loud": "maybe"}, "expected type: boolean"),
        ({"name": "x", "count": True}, "expected type: integer"),
        ({"name": "x", "color": "green"}, "argument 'color' is 'green' (expected one of red, blue)"),
        ({"name": "x", "token": "NOT-A-NAME"}, "not an environment variable name"),
        ({"name": "x", "extra": "run"}, "expected type: steps"),
    ],
)
def test_bad_arguments_name_the_problem(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        bind(DECLARATIONS, arguments)
    assert message in str(caught.value)


def test_yaml_1_1_boolean_words_are_accepted_for_booleans() -> None:
    assert bind(DECLARATIONS, {"name": "x", "loud": "yes"})["loud"] is True
    assert bind(DECLARATIONS, {"name": "x", "loud": "off"})["loud"] is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"p": {"type": "float"}}, "has type 'float'"),
        ({"p": {"type": "enum", "enum": []}}, "needs 'enum:'"),
        ({"p": {"type": "string", "defualt": "x"}}, "unknown key(s) defualt"),
        ({"p": {"type": "enum", "enum": ["a"], "default": "b"}}, "argument 'p' is 'b'"),
        ({"p": "string"}, "must be a mapping"),
    ],
)
def test_bad_declarations(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_declarations(raw)
    assert message in str(caught.value)


def test_pipeline_parameters() -> None:
    declared = parse_declarations(
        {"upstream": {"type": "string", "default": ""}, "deploy": {"type": "boolean", "default": False}},
        pipeline=True,
    )
    assert bind_pipeline(declared, {"deploy": True}) == {"upstream": "", "deploy": True}
    with pytest.raises(UnexpectedArguments, match=r"^Unexpected argument\(s\): a, b$"):
        bind_pipeline(declared, {"b": 1, "a": 2})
    with pytest.raises(ConfigError, match="has type 'steps'"):
        parse_declarations({"s": {"type": "steps"}}, pipeline=True)
