"""Substitution of << ... >>: parameters, pipeline values, sections, escaping."""

from __future__ import annotations

import pytest

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.logic import evaluate
from cb_helper.rehearse.templating import Scope, Scoped, substitute, substitute_text, unescape
from cb_helper.rehearse.yamlio import load_yaml_text

SCOPE = Scope(
    parameters={"name": "world", "flag": True, "off": False, "count": 3, "steps": Scoped([{"run": "x"}], None)},
    pipeline={"id": "p-1", "git.branch": "main", "number": 7},
    pipeline_parameters={"upstream": ""},
)


def test_whole_reference_keeps_the_type() -> None:
    assert substitute_text("<< parameters.flag >>", SCOPE) is True
    assert substitute_text("<<parameters.count>>", SCOPE) == 3
    assert substitute_text("<< pipeline.number >>", SCOPE) == 7
    assert isinstance(substitute_text("<< parameters.steps >>", SCOPE), Scoped)


def test_reference_inside_text_is_rendered() -> None:
    text = "hello << parameters.name >> on << pipeline.git.branch >>: << parameters.flag >>/<< parameters.count >>"
    assert substitute_text(text, SCOPE) == "hello world on main: true/3"


def test_sections_render_by_truthiness() -> None:
    text = "a<<# parameters.flag >>-yes<</ parameters.flag >><<^ parameters.off >>-not-off<</ parameters.off >>"
    assert substitute_text(text, SCOPE) == "a-yes-not-off"
    assert substitute_text("<<# parameters.off >>gone<</ parameters.off >>x", SCOPE) == "x"


def test_escaped_brackets_survive_and_unescape_once() -> None:
    script = "cat \\<<EOF\n<< parameters.name >>\nEOF\n"
    rendered = substitute_text(script, SCOPE)
    assert rendered == "cat \\<<EOF\nworld\nEOF\n"
    assert unescape(rendered) == "cat <<EOF\nworld\nEOF\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<< parameters.missing >>", "Arguments referenced without declared parameters: missing"),
        ("<< pipeline.nope >>", "Unknown variable(s): pipeline.nope"),
        ("<< pipeline.parameters.other >>", "no pipeline parameter 'other'"),
        ("x << matrix.os >>", "Unknown variable(s): matrix.os"),
        ("<<include(scripts/a.sh)>>", "packed orb"),
        ("echo << parameters.steps >>", "cannot be used inside text"),
    ],
)
def test_bad_references_name_the_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        substitute_text(text, SCOPE)
    assert message in str(caught.value)


def test_pipeline_parameters_are_out_of_scope_in_orbs() -> None:
    orb_scope = Scope(pipeline_parameters={"upstream": "x"}, in_orb=True)
    with pytest.raises(ConfigError, match="inside an orb"):
        substitute_text("<< pipeline.parameters.upstream >>", orb_scope)
    assert substitute_text("<< pipeline.parameters.upstream >>", SCOPE) == ""


def test_substitute_walks_keys_and_values() -> None:
    tree = {"environment": {"NAME_<< parameters.count >>": "<< parameters.name >>"}, "list": ["<< parameters.flag >>"]}
    assert substitute(tree, SCOPE) == {"environment": {"NAME_3": "world"}, "list": [True]}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (True, True),
        ("", False),
        ({"and": [True, "x"]}, True),
        ({"or": [False, 0]}, False),
        ({"not": {"equal": ["main", "dev"]}}, True),
        ({"equal": ["main", "main", "main"]}, True),
        ({"equal": [True, "true"]}, False),
        ({"matches": {"pattern": "^release/.*$", "value": "release/1.2"}}, True),
        ({"matches": {"pattern": "rel", "value": "release"}}, False),
    ],
)
def test_logic_statements(statement: object, expected: bool) -> None:
    assert evaluate(statement) is expected


def test_unknown_logic_operator_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown logic operator 'xor'"):
        evaluate({"xor": [True, False]})


def test_yaml_is_read_as_yaml_1_2() -> None:
    data = load_yaml_text("a: yes\nb: true\nc: 1:20\nd: 2024-01-01\ne: on\nf: 0x10\n", "t.yml")
    assert data == {"a": "yes", "b": True, "c": "1:20", "d": "2024-01-01", "e": "on", "f": 16}


def test_yaml_duplicate_keys_and_syntax_errors_name_the_source() -> None:
    with pytest.raises(ConfigError, match=r"t\.yml is not valid YAML at line 2.*duplicate key 'a'"):
        load_yaml_text("a: 1\na: 2\n", "t.yml")
    with pytest.raises(ConfigError, match=r"t\.yml is not valid YAML"):
        load_yaml_text("a: [1,\n", "t.yml")
