"""Validation of simulator traffic against CircleCI's OpenAPI spec (``openapi.json`` beside this file).

The spec is loaded and compiled once per process with openapi-core. Three relaxations are applied, each
documented in ``docs/simulator.md``:

* ``x-nullable: true`` (a Swagger 2 leftover the spec still carries) is read as OpenAPI 3's
  ``nullable: true``; without it ``next_page_token: null`` or ``stopped_at: null`` would be refused,
  though the spec means to allow them.
* ``Job.started_at`` may be null: the simulator sends null for a job that has not started.
* ``pipelineRequest.config`` may carry ``content`` (a string): CircleCI's own API client always sends it
  and the service accepts it, though this copy of the schema forbids it.

openapi-core cannot match ``{project-slug}`` against three path segments (the spec's
``allowReserved``), so requests carry their matched path template and parameters themselves.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from cb_helper.sim import Exchange
from cb_helper.sim.outputs import DOWNLOAD_PREFIX

SPEC_PATH = Path(__file__).with_name("openapi.json")
HOST_URL = "https://circleci.com"
BASE_PATH = "/api/v2"

#: The operations the simulator serves: (method, path template).
SERVED: tuple[tuple[str, str], ...] = (
    ("POST", "/project/{project-slug}/pipeline"),
    ("GET", "/project/{project-slug}/pipeline"),
    ("POST", "/project/{provider}/{organization}/{project}/pipeline/run"),
    ("GET", "/pipeline/{pipeline-id}"),
    ("GET", "/pipeline/{pipeline-id}/workflow"),
    ("GET", "/workflow/{id}"),
    ("GET", "/workflow/{id}/job"),
    ("POST", "/workflow/{id}/approve/{approval_request_id}"),
    ("POST", "/workflow/{id}/cancel"),
    ("POST", "/workflow/{id}/rerun"),
    ("POST", "/pipeline/continue"),
    ("GET", "/project/{project-slug}/{job-number}/artifacts"),
    ("GET", "/project/{project-slug}/{job-number}/tests"),
    ("GET", "/project/{project-slug}/pipeline/{pipeline-number}"),
    ("GET", "/project/{project-slug}/job/{job-number}"),
    ("GET", "/project/{project-slug}"),
    ("GET", "/me"),
)


def _nullable(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("x-nullable") is True:
            node["nullable"] = True
        for value in node.values():
            _nullable(value)
    elif isinstance(node, list):
        for value in node:
            _nullable(value)


@functools.lru_cache(maxsize=1)
def raw_spec() -> dict[str, Any]:
    """The spec as published (parsed, unmodified)."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@functools.lru_cache(maxsize=1)
def relaxed_spec() -> dict[str, Any]:
    """The spec with the three documented relaxations applied."""
    spec = copy.deepcopy(raw_spec())
    _nullable(spec)
    job = spec["paths"]["/workflow/{id}/job"]["get"]["responses"]["200"]["content"]["application/json"]
    job["schema"]["properties"]["items"]["items"]["properties"]["started_at"]["nullable"] = True
    config = spec["components"]["schemas"]["pipelineRequest"]["properties"]["config"]
    config["properties"]["content"] = {"type": "string"}
    return spec


_COMPILE_LOCK = threading.Lock()


def openapi() -> OpenAPI:
    """The compiled spec, built once per process (server threads may ask for it concurrently)."""
    with _COMPILE_LOCK:
        return _openapi()


@functools.lru_cache(maxsize=1)
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(relaxed_spec())


def warm_up() -> None:
    """Load and compile the spec up front, so no request pays for it."""
    openapi()


def match_template(method: str, path: str) -> Optional[tuple[str, dict[str, str]]]:
    """The served template a request path (under ``/api/v2``, percent-encoded) matches, with its parameters."""
    raw = path.split("/")[1:]
    for want, template in SERVED:
        if want != method:
            continue
        params = _match(template.split("/")[1:], raw)
        if params is not None:
            return template, params
    return None


def _match(template: list[str], raw: list[str]) -> Optional[dict[str, str]]:
    params: dict[str, str] = {}
    i = 0
    for part in template:
        if i >= len(raw):
            return None
        if part == "{project-slug}":  # allowReserved: three segments, or one with escaped slashes
            if unquote(raw[i]).count("/") == 2:
                params["project-slug"], i = unquote(raw[i]), i + 1
                continue
            if i + 3 > len(raw):
                return None
            params["project-slug"], i = "/".join(unquote(s) for s in raw[i : i + 3]), i + 3
            continue
        if part.startswith("{"):
            value = unquote(raw[i])
            if not value or "/" in value:
                return None
            params[part[1:-1]] = value
        elif raw[i] != part:
            return None
        i += 1
    return params if i == len(raw) else None


@dataclass
class SpecResponse:
    status_code: int
    data: Optional[bytes]
    content_type: str
    headers: Headers


@dataclass
class SpecRequest:
    """An openapi-core request that names its own path template."""

    method: str
    path: str
    path_pattern: str
    parameters: RequestParameters
    body: Optional[bytes]
    content_type: str
    host_url: str = HOST_URL


def _content_type(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.lower()
    return ""


def request_of(exchange: Exchange) -> Optional[SpecRequest]:
    """The spec-side view of an exchange's request; ``None`` if it matches no served operation."""
    if not exchange.path.startswith(BASE_PATH + "/"):
        return None
    found = match_template(exchange.method, exchange.path[len(BASE_PATH) :])
    if found is None:
        return None
    template, path_params = found
    parameters = RequestParameters(
        query=ImmutableMultiDict(exchange.query),
        header=Headers(exchange.request_headers),
        cookie=ImmutableMultiDict({}),
        path=path_params,
    )
    return SpecRequest(
        method=exchange.method.lower(),
        path=exchange.path,
        path_pattern=BASE_PATH + template,
        parameters=parameters,
        body=exchange.request_body or None,
        content_type=_content_type(exchange.request_headers),
    )


def request_errors(exchange: Exchange) -> list[str]:
    """Why the request breaks the spec (empty when it conforms, or is an artifact download)."""
    if exchange.path.startswith(DOWNLOAD_PREFIX):
        return []  # artifacts are served outside API v2 (another host on CircleCI); the spec says nothing of them
    request = request_of(exchange)
    if request is None:
        return [f"{exchange.method} {exchange.path}: no operation of the spec serves this path"]
    try:
        openapi().validate_request(request)
    except Exception as exc:  # openapi-core raises a family of validation errors
        return [f"request {exchange.method} {exchange.path}: {_explain(exc)}"]
    return []


def response_errors(exchange: Exchange) -> list[str]:
    """Why the response breaks the spec (empty when it conforms or was an injected fault)."""
    if exchange.fault in ("status", "drop", "truncate", "act_then_fail", "stale_page_token"):
        return []
    request = request_of(exchange)
    if request is None:
        return []
    response = SpecResponse(
        status_code=exchange.status,
        data=exchange.response_body,
        content_type=_content_type(exchange.response_headers),
        headers=Headers(exchange.response_headers),
    )
    try:
        openapi().validate_response(request, response)
    except Exception as exc:  # openapi-core raises a family of validation errors
        return [f"response {exchange.status} to {exchange.method} {exchange.path}: {_explain(exc)}"]
    return []


def _explain(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        if str(cause) not in parts[-1]:
            parts.append(str(cause))
        cause = cause.__cause__
    return " <- ".join(parts)


class ContractChecker:
    """An observer for :class:`~cb_helper.sim.SimServer` that collects every spec mismatch."""

    def __init__(self, *, check_requests: bool = True) -> None:
        self.check_requests = check_requests
        self.mismatches: list[str] = []
        self.checked = 0

    def __call__(self, exchange: Exchange) -> None:
        found = response_errors(exchange)
        if self.check_requests:
            found = request_errors(exchange) + found
        self.checked += 1
        self.mismatches.extend(found)
