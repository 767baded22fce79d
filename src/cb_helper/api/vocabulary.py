"""CircleCI's vocabulary, defined once: statuses, slugs, ids and pipeline-parameter rules.

Imported by the helper, the simulator and the runner alike. Pure data and pure functions; no I/O.
Validation functions raise :class:`~cb_helper.api.errors.BadInput` with a one-line message that names
the value and what was expected.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from cb_helper.api.errors import BadInput

# --- pipelines -------------------------------------------------------------------------------------

PIPELINE_STATES = frozenset({"created", "errored", "setup-pending", "setup", "pending"})
#: ``errors[].type`` values of a pipeline.
PIPELINE_ERROR_TYPES = frozenset(
    {
        "config",
        "invalid-trigger-setup",
        "config-fetch",
        "timeout",
        "permission",
        "other",
        "trigger-rule",
        "plan",
    }
)

# --- workflows -------------------------------------------------------------------------------------

WORKFLOW_STATUSES = frozenset(
    {"success", "running", "not_run", "failed", "error", "failing", "on_hold", "canceled", "unauthorized"}
)
#: A workflow in one of these states will not change any more (short of a rerun).
WORKFLOW_TERMINAL = frozenset({"success", "not_run", "failed", "error", "canceled", "unauthorized"})
#: Finished (or certain to finish) unsuccessfully: exit status 1.
WORKFLOW_FAILED = frozenset({"failed", "error", "failing", "unauthorized"})
#: Did not run to an end: exit status 5.
WORKFLOW_CANCELED = frozenset({"canceled", "not_run"})

# --- jobs ------------------------------------------------------------------------------------------

JOB_STATUSES = frozenset(
    {
        "success",
        "running",
        "not_run",
        "failed",
        "retried",
        "queued",
        "not_running",
        "infrastructure_fail",
        "timedout",
        "on_hold",
        "terminated-unknown",
        "blocked",
        "canceled",
        "unauthorized",
    }
)
JOB_TERMINAL = frozenset(
    {
        "success",
        "not_run",
        "failed",
        "retried",
        "infrastructure_fail",
        "timedout",
        "terminated-unknown",
        "canceled",
        "unauthorized",
    }
)
JOB_PENDING = JOB_STATUSES - JOB_TERMINAL  # running, queued, not_running, on_hold, blocked
JOB_FAILED = frozenset({"failed", "infrastructure_fail", "timedout", "terminated-unknown", "unauthorized"})
JOB_TYPES = frozenset({"build", "approval"})

#: The status values CircleCI's ``requires`` accepts (``- job: [success, failed]``); ``terminal`` is the
#: shorthand for all of them plus ``not_run``.
REQUIRES_STATUSES = frozenset({"success", "failed", "canceled", "not_run"})

# --- pipeline parameters ---------------------------------------------------------------------------

MAX_PARAMETERS = 100
MAX_PARAMETER_KEY_LENGTH = 128
MAX_PARAMETER_VALUE_LENGTH = 512

ParameterValue = Union[str, int, bool]

_INT_LITERAL = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")  # "-0" and "007" stay strings: they would not round-trip


def parse_parameter(text: str) -> tuple[str, ParameterValue]:
    """Parse one ``KEY=VALUE``: ``true``/``false`` become booleans, integer literals integers.

    Everything else stays a string (``007`` included, so a zero-padded value is not mangled).
    """
    key, sep, raw = text.partition("=")
    if not sep:
        raise BadInput(f"parameter {text!r} is not KEY=VALUE (expected an '=' between key and value)")
    if not key:
        raise BadInput(f"parameter {text!r} has an empty key (expected KEY=VALUE)")
    value: ParameterValue
    if raw == "true":
        value = True
    elif raw == "false":
        value = False
    elif _INT_LITERAL.match(raw):
        value = int(raw)
    else:
        value = raw
    return key, value


def parse_parameters_json(text: str) -> dict[str, Any]:
    """Parse ``--parameters-json``: a JSON object whose values keep their JSON types."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"--parameters-json {_clip(text)!r} is not valid JSON ({exc.args[0]})") from None
    if not isinstance(data, dict):
        raise BadInput(f'--parameters-json {_clip(text)!r} is not a JSON object (expected {{"key": value, ...}})')
    return data


_JSON_KINDS: dict[type, str] = {
    float: "a number with a fraction",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def check_parameter_limits(parameters: Mapping[str, Any]) -> None:
    """CircleCI's types and limits: 100 entries, keys of at most 128 characters, values (strings, integers,
    booleans) of at most 512."""
    if len(parameters) > MAX_PARAMETERS:
        raise BadInput(f"{len(parameters)} pipeline parameters given (expected at most {MAX_PARAMETERS})")
    for key, value in parameters.items():
        if not isinstance(key, str) or not key:
            raise BadInput(f"pipeline parameter key {key!r} is not a non-empty string")
        if len(key) > MAX_PARAMETER_KEY_LENGTH:
            raise BadInput(
                f"pipeline parameter key {_clip(key)!r} is {len(key)} characters long "
                f"(expected at most {MAX_PARAMETER_KEY_LENGTH})"
            )
        if not isinstance(value, (str, int)):  # bool is an int; a float, list, object or null is none of these
            kind = _JSON_KINDS.get(type(value), type(value).__name__)
            raise BadInput(
                f"value of pipeline parameter {key!r} is {kind} (expected a string, an integer or a boolean)"
            )
        size = len(value) if isinstance(value, str) else len(json.dumps(value))
        if size > MAX_PARAMETER_VALUE_LENGTH:
            raise BadInput(
                f"value of pipeline parameter {key!r} is {size} characters long "
                f"(expected at most {MAX_PARAMETER_VALUE_LENGTH})"
            )


def merge_parameters(pairs: Iterable[str], parameters_json: Optional[str]) -> dict[str, Any]:
    """``--parameters-json`` first, then each ``--parameter KEY=VALUE`` on top; limits checked."""
    merged: dict[str, Any] = parse_parameters_json(parameters_json) if parameters_json else {}
    for pair in pairs:
        key, value = parse_parameter(pair)
        merged[key] = value
    check_parameter_limits(merged)
    return merged


# --- ids -------------------------------------------------------------------------------------------


def parse_uuid(value: str, what: str) -> str:
    """Return ``value`` in canonical lower-case form, or raise naming ``what`` it should have been."""
    text = value.strip() if isinstance(value, str) else value
    try:
        parsed = uuid.UUID(text)
    except (TypeError, ValueError, AttributeError):
        raise BadInput(
            f"{what} {_clip(str(value))!r} is not a UUID (expected e.g. 5034460f-c7c4-4c43-9457-de07e2029e7b)"
        ) from None
    if str(parsed) != text.lower():
        raise BadInput(
            f"{what} {_clip(str(value))!r} is not a UUID (expected e.g. 5034460f-c7c4-4c43-9457-de07e2029e7b)"
        )
    return str(parsed)


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


# --- project slugs ---------------------------------------------------------------------------------

#: Providers whose slugs work with the classic ``POST /project/{slug}/pipeline``.
LEGACY_PROVIDERS = frozenset({"gh", "github", "bb", "bitbucket"})
#: Providers accepted by ``POST /project/{provider}/{org}/{project}/pipeline/run``.
RUN_PROVIDERS = frozenset({"gh", "github", "bb", "bitbucket", "circleci"})

_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+\Z")


@dataclass(frozen=True)
class ProjectSlug:
    """``provider/organization/project``, e.g. ``gh/acme/api`` or ``circleci/<org-id>/<project-id>``."""

    provider: str
    organization: str
    project: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.organization}/{self.project}"

    @property
    def is_legacy(self) -> bool:
        """True when the classic ``/project/{slug}/pipeline`` trigger endpoint serves this slug."""
        return self.provider in LEGACY_PROVIDERS

    @classmethod
    def parse(cls, text: str) -> ProjectSlug:
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) != 3 or not all(_SEGMENT.match(p) for p in parts) or any(p in (".", "..") for p in parts):
            raise BadInput(
                f"project slug {_clip(str(text))!r} is malformed "
                "(expected provider/organization/project, e.g. gh/acme/api or circleci/<org-id>/<project-id>)"
            )
        provider = parts[0]
        if provider not in RUN_PROVIDERS:
            raise BadInput(
                f"project slug {_clip(text)!r} has unknown provider {provider!r} "
                f"(expected one of {', '.join(sorted(RUN_PROVIDERS))})"
            )
        return cls(provider, parts[1], parts[2])


def same_project(a: str, b: str) -> bool:
    """Compare slugs, treating ``gh``/``github`` and ``bb``/``bitbucket`` as the same provider."""
    return slug_key(a) == slug_key(b)


_PROVIDER_ALIASES = {"github": "gh", "bitbucket": "bb"}


def slug_key(slug: str) -> str:
    """One spelling per project: provider aliases folded (``github`` -> ``gh``), case ignored."""
    provider, _, rest = slug.partition("/")
    return f"{_PROVIDER_ALIASES.get(provider.lower(), provider.lower())}/{rest.lower()}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
