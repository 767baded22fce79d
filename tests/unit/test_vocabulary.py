"""Parameter parsing, limits, slugs and ids: the checks that run before any API call."""

from __future__ import annotations

import json
import string
from typing import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cb_helper.api.errors import BadInput, ExitStatus
from cb_helper.api.vocabulary import (
    MAX_PARAMETER_KEY_LENGTH,
    MAX_PARAMETER_VALUE_LENGTH,
    MAX_PARAMETERS,
    WORKFLOW_CANCELED,
    WORKFLOW_FAILED,
    WORKFLOW_STATUSES,
    WORKFLOW_TERMINAL,
    ProjectSlug,
    check_parameter_limits,
    merge_parameters,
    parse_parameter,
    parse_parameters_json,
    parse_uuid,
    same_project,
    slug_key,
)

keys = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)


@given(key=keys, value=st.integers(min_value=-(10**12), max_value=10**12))
def test_integer_literals_become_integers(key: str, value: int) -> None:
    assert parse_parameter(f"{key}={value}") == (key, value)


@given(key=keys, value=st.booleans())
def test_true_and_false_become_booleans(key: str, value: bool) -> None:
    assert parse_parameter(f"{key}={str(value).lower()}") == (key, value)


@given(key=keys, value=st.text(max_size=60))
def test_other_values_stay_strings_and_round_trip(key: str, value: str) -> None:
    parsed_key, parsed = parse_parameter(f"{key}={value}")
    assert parsed_key == key
    if isinstance(parsed, bool):
        assert value in ("true", "false")
    elif isinstance(parsed, int):
        assert str(parsed) == value
    else:
        assert parsed == value


@pytest.mark.parametrize("raw", ["007", "-0", "-007", "1.5", "True", "FALSE", "", "0x10", "1e3", "+4"])
def test_ambiguous_literals_stay_strings(raw: str) -> None:
    assert parse_parameter(f"k={raw}") == ("k", raw)


def test_value_may_contain_equals_signs() -> None:
    assert parse_parameter("url=https://x/?a=b") == ("url", "https://x/?a=b")


@pytest.mark.parametrize("text", ["novalue", "=value"])
def test_malformed_pairs_are_refused_with_the_value_named(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_parameter(text)
    assert repr(text) in str(caught.value)
    assert caught.value.exit_status == ExitStatus.USAGE


def test_parameters_json_keeps_types_and_pairs_override() -> None:
    merged = merge_parameters(["b=2"], json.dumps({"a": "1", "b": "x", "c": True}))
    assert merged == {"a": "1", "b": 2, "c": True}


@pytest.mark.parametrize("text", ["{", "[1, 2]", '"text"', "null"])
def test_parameters_json_must_be_an_object(text: str) -> None:
    with pytest.raises(BadInput, match="--parameters-json"):
        parse_parameters_json(text)


def test_limits_are_exactly_circlecis() -> None:
    check_parameter_limits({f"k{i}": i for i in range(MAX_PARAMETERS)})
    with pytest.raises(BadInput, match="101 pipeline parameters"):
        check_parameter_limits({f"k{i}": i for i in range(MAX_PARAMETERS + 1)})
    check_parameter_limits({"k" * MAX_PARAMETER_KEY_LENGTH: "v"})
    with pytest.raises(BadInput, match="129 characters"):
        check_parameter_limits({"k" * (MAX_PARAMETER_KEY_LENGTH + 1): "v"})
    check_parameter_limits({"k": "v" * MAX_PARAMETER_VALUE_LENGTH})
    with pytest.raises(BadInput, match="513 characters"):
        check_parameter_limits({"k": "v" * (MAX_PARAMETER_VALUE_LENGTH + 1)})


@given(st.dictionaries(keys, st.one_of(st.integers(), st.booleans(), st.text(max_size=20)), max_size=30))
def test_limits_accept_everything_within_them(parameters: dict[str, object]) -> None:
    check_parameter_limits(parameters)


@pytest.mark.parametrize(
    ("text", "legacy"),
    [("gh/acme/api", True), ("github/acme/api", True), ("bb/acme/api", True), ("circleci/AbC123/xyz-9", False)],
)
def test_slugs(text: str, legacy: bool) -> None:
    slug = ProjectSlug.parse(text)
    assert str(slug) == text
    assert slug.is_legacy is legacy


@pytest.mark.parametrize(
    "text", ["", "gh/acme", "gh/acme/api/extra", "gitlab/acme/api", "gh//api", "gh/acme/a b", "gh/../api", "gh/a/b?x"]
)
def test_malformed_slugs_are_refused(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        ProjectSlug.parse(text)
    assert repr(text) in str(caught.value)


def test_same_project_ignores_provider_aliases_and_case() -> None:
    assert same_project("github/Acme/API", "gh/acme/api")
    assert same_project("bitbucket/a/b", "bb/a/b")
    assert not same_project("gh/acme/api", "gh/acme/web")


def test_uuid_canonical_form() -> None:
    assert parse_uuid("5034460F-C7C4-4C43-9457-DE07E2029E7B", "--x") == "5034460f-c7c4-4c43-9457-de07e2029e7b"
    for bad in ["null", "", "5034460fc7c44c439457de07e2029e7b", "{5034460f-c7c4-4c43-9457-de07e2029e7b}"]:
        with pytest.raises(BadInput, match="is not a UUID"):
            parse_uuid(bad, "--workflow-id")


def test_status_sets_partition_the_spec_enum() -> None:
    assert WORKFLOW_TERMINAL <= WORKFLOW_STATUSES
    assert not (WORKFLOW_CANCELED & WORKFLOW_FAILED)
    assert {"running", "on_hold", "failing"} == WORKFLOW_STATUSES - WORKFLOW_TERMINAL


UUID_HINT = "(expected e.g. 5034460f-c7c4-4c43-9457-de07e2029e7b)"
SLUG_HINT = "(expected provider/organization/project, e.g. gh/acme/api or circleci/<org-id>/<project-id>)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_parameter("novalue"),
         "parameter 'novalue' is not KEY=VALUE (expected an '=' between key and value)"),
        (lambda: parse_parameter("=x"), "parameter '=x' has an empty key (expected KEY=VALUE)"),
        (lambda: parse_parameters_json("[1]"),
         """--parameters-json '[1]' is not a JSON object (expected {"key": value, ...})"""),
        (lambda: parse_parameters_json("x" * 100),
         f"--parameters-json '{'x' * 77}...' is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (lambda: check_parameter_limits({f"k{i}": 1 for i in range(101)}),
         "101 pipeline parameters given (expected at most 100)"),
        (lambda: check_parameter_limits({"": 1}), "pipeline parameter key '' is not a non-empty string"),
        (lambda: check_parameter_limits({"k" * 129: 1}),
         f"pipeline parameter key '{'k' * 77}...' is 129 characters long (expected at most 128)"),
        (lambda: check_parameter_limits({"k": "v" * 513}),
         "value of pipeline parameter 'k' is 513 characters long (expected at most 512)"),
        (lambda: parse_uuid("null", "--pipeline-id"), f"--pipeline-id 'null' is not a UUID {UUID_HINT}"),
        (lambda: parse_uuid("", "--workflow-id"), f"--workflow-id '' is not a UUID {UUID_HINT}"),
        (lambda: parse_uuid("5034460fc7c44c439457de07e2029e7b", "--x"),
         f"--x '5034460fc7c44c439457de07e2029e7b' is not a UUID {UUID_HINT}"),
        (lambda: parse_uuid("x" * 80, "--x"), f"--x '{'x' * 80}' is not a UUID {UUID_HINT}"),
        (lambda: check_parameter_limits({"k": {"a": "x" * 600}}),
         "value of pipeline parameter 'k' is an object (expected a string, an integer or a boolean)"),
        (lambda: ProjectSlug.parse("gh/./api"), f"project slug 'gh/./api' is malformed {SLUG_HINT}"),
        (lambda: ProjectSlug.parse("acme/api"), f"project slug 'acme/api' is malformed {SLUG_HINT}"),
        (lambda: ProjectSlug.parse("gh/a/"), f"project slug 'gh/a/' is malformed {SLUG_HINT}"),
        (lambda: ProjectSlug.parse("gitlab/a/b"),
         "project slug 'gitlab/a/b' has unknown provider 'gitlab' "
         "(expected one of bb, bitbucket, circleci, gh, github)"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_value_and_what_was_expected(call: Callable[[], object], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        call()
    assert str(caught.value) == message


def test_uuids_are_given_back_in_canonical_form_and_pairs_override_json() -> None:
    assert parse_uuid("5034460F-C7C4-4C43-9457-DE07E2029E7B", "--x") == "5034460f-c7c4-4c43-9457-de07e2029e7b"
    assert merge_parameters(["a=1"], '{"a": "x", "b": 2}') == {"a": 1, "b": 2}
    assert slug_key("GitHub/Acme/Api") == "gh/acme/api"
    assert parse_uuid(" 5034460f-c7c4-4c43-9457-de07e2029e7b\n", "--x") == "5034460f-c7c4-4c43-9457-de07e2029e7b"


def test_a_library_caller_passing_a_value_no_json_has_is_told_its_python_type() -> None:
    with pytest.raises(BadInput) as caught:
        check_parameter_limits({"targets": ("a", "b")})
    assert str(caught.value) == (
        "value of pipeline parameter 'targets' is tuple (expected a string, an integer or a boolean)"
    )
