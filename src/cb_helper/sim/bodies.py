"""Request bodies of the POST routes: parsed and checked the way CircleCI checks them.

Each ``parse_*`` raises :class:`~cb_helper.sim.answer.Refusal` (400 and CircleCI's
``Unexpected request body provided.`` unless noted) before anything changes. Messages marked
*invented* are the simulator's own; CircleCI's wording for those cases is undocumented.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from cb_helper.api.errors import BadInput
from cb_helper.api.vocabulary import WORKFLOW_TERMINAL, check_parameter_limits, is_uuid
from cb_helper.sim.answer import UNEXPECTED_BODY, Refusal
from cb_helper.sim.model import Job, Project, Workflow

#: Invented: the legacy trigger does not serve GitHub App / GitLab / Bitbucket DC (``circleci/``) slugs.
LEGACY_UNSUPPORTED = (
    "This endpoint does not support this project's integration; use "
    "POST /project/{provider}/{organization}/{project}/pipeline/run."
)
BOTH_BRANCH_AND_TAG = "Only one of branch or tag may be given."  # invented wording
BRANCH_NOT_FOUND = "Branch not found"

_PULL_REF = re.compile(r"pull/[1-9][0-9]*/(head|merge)\Z")
_RUN_FIELDS = frozenset({"definition_id", "config", "checkout", "parameters"})
_REF_FIELDS = frozenset({"branch", "tag"})
#: ``config`` may also carry ``content``, the config itself as a string: CircleCI's API client always sends
#: it (``""`` when unset) and the service accepts it, though the spec copy's schema does not list it.
_CONFIG_FIELDS = _REF_FIELDS | {"content"}


@dataclass
class TriggerRequest:
    branch: Optional[str] = None
    tag: Optional[str] = None
    parameters: dict[str, Any] = field(default_factory=dict)
    definition_id: Optional[str] = None
    config_branch: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class RerunRequest:
    from_failed: bool = False
    jobs: Optional[list[str]] = None
    enable_ssh: bool = False
    sparse_tree: bool = False


@dataclass
class ContinueRequest:
    key: str
    configuration: str
    parameters: dict[str, Any] = field(default_factory=dict)


def load_json(body: bytes) -> Any:
    """The JSON in ``body``; an empty body is ``None``. Malformed JSON is refused."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nesting too deep to parse
        raise Refusal(400, UNEXPECTED_BODY) from None


def _parameters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refusal(400, UNEXPECTED_BODY)
    for item in value.values():
        # Integer, string or boolean, the types a pipeline parameter can take (the legacy schema says
        # so; invented for /pipeline/run, whose schema allows any value).
        if not isinstance(item, (str, int, bool)):
            raise Refusal(400, UNEXPECTED_BODY)
    try:
        check_parameter_limits(value)
    except BadInput as exc:  # the 100/128/512 limits; wording is the helper's own (invented)
        raise Refusal(400, exc.message) from None
    return dict(value)


def _ref(value: Any, *, strict: bool, fields: frozenset[str] = _REF_FIELDS) -> tuple[Optional[str], Optional[str]]:
    """``(branch, tag)`` from an object with optional ``branch``/``tag`` strings (and only ``fields`` if strict)."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or (strict and not set(value) <= fields):
        raise Refusal(400, UNEXPECTED_BODY)
    if "content" in fields and not isinstance(value.get("content", ""), str):
        raise Refusal(400, UNEXPECTED_BODY)
    branch, tag = value.get("branch"), value.get("tag")
    for item in (branch, tag):
        if item is not None and not isinstance(item, str):
            raise Refusal(400, UNEXPECTED_BODY)
    if branch is not None and tag is not None:
        raise Refusal(400, BOTH_BRANCH_AND_TAG)
    return branch, tag


def parse_legacy_trigger(body: bytes) -> TriggerRequest:
    """``POST /project/{slug}/pipeline``: ``{branch | tag, parameters}``; empty or ``null`` is fine."""
    data = load_json(body)
    if data is None:
        return TriggerRequest()
    if not isinstance(data, dict):
        raise Refusal(400, UNEXPECTED_BODY)
    # Unknown fields are ignored: the spec's TriggerPipelineParameters does not forbid them.
    branch, tag = _ref(data, strict=False)
    return TriggerRequest(branch=branch, tag=tag, parameters=_parameters(data.get("parameters")))


def parse_run_trigger(body: bytes) -> TriggerRequest:
    """``POST .../pipeline/run``: ``additionalProperties: false`` at every level."""
    data = load_json(body)
    if data is None:
        data = {}  # invented: an empty body triggers the default branch, like the legacy endpoint
    if not isinstance(data, dict) or not set(data) <= _RUN_FIELDS:
        raise Refusal(400, UNEXPECTED_BODY)
    definition_id = data.get("definition_id")
    if definition_id is not None and not is_uuid(definition_id):
        raise Refusal(400, UNEXPECTED_BODY)
    config_branch, config_tag = _ref(data.get("config"), strict=True, fields=_CONFIG_FIELDS)
    checkout_branch, checkout_tag = _ref(data.get("checkout"), strict=True)
    branch, tag = checkout_branch, checkout_tag
    if branch is None and tag is None:
        branch, tag = config_branch, config_tag
    return TriggerRequest(
        branch=branch,
        tag=tag,
        parameters=_parameters(data.get("parameters")),
        definition_id=definition_id.lower() if isinstance(definition_id, str) else None,
        config_branch=config_branch,
        raw=data,
    )


def check_branch(project: Project, branch: Optional[str]) -> None:
    """400 ``Branch not found`` unless the project knows ``branch`` (GitHub PR refs always pass)."""
    if branch is None or branch in project.branches or _PULL_REF.match(branch):
        return
    raise Refusal(400, BRANCH_NOT_FOUND)


def parse_continue(body: bytes) -> ContinueRequest:
    """``POST /pipeline/continue``: ``{continuation-key, configuration, parameters}``, the first two required."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise Refusal(400, UNEXPECTED_BODY)
    key, configuration = data.get("continuation-key"), data.get("configuration")
    if not isinstance(key, str) or not key or not isinstance(configuration, str):
        raise Refusal(400, UNEXPECTED_BODY)
    return ContinueRequest(key, configuration, _parameters(data.get("parameters")))


def parse_rerun(body: bytes) -> RerunRequest:
    """``POST /workflow/{id}/rerun``: optional ``{enable_ssh, from_failed, jobs, sparse_tree}``."""
    data = load_json(body)
    if data is None:
        return RerunRequest()
    if not isinstance(data, dict):
        raise Refusal(400, UNEXPECTED_BODY)
    flags = {}
    for name in ("enable_ssh", "from_failed", "sparse_tree"):
        value = data.get(name, False)
        if not isinstance(value, bool):
            raise Refusal(400, UNEXPECTED_BODY)
        flags[name] = value
    jobs = data.get("jobs")
    if jobs is not None and (not isinstance(jobs, list) or not all(is_uuid(j) for j in jobs)):
        raise Refusal(400, UNEXPECTED_BODY)
    # Invented wording for the documented constraints between the fields.
    if flags["from_failed"] and jobs is not None:
        raise Refusal(400, "from_failed and jobs cannot be used together.")
    if (flags["enable_ssh"] or flags["sparse_tree"]) and jobs is None:
        raise Refusal(400, "enable_ssh and sparse_tree require jobs.")
    return RerunRequest(
        from_failed=flags["from_failed"],
        jobs=[j.lower() for j in jobs] if jobs is not None else None,
        enable_ssh=flags["enable_ssh"],
        sparse_tree=flags["sparse_tree"],
    )


def check_rerun(workflow: Workflow, jobs: Sequence[Job], request: RerunRequest) -> None:
    """Invented refusals: rerunning a workflow that has not finished, or naming jobs it lacks."""
    if workflow.status not in WORKFLOW_TERMINAL:
        raise Refusal(400, f"Workflow is {workflow.status}; only a finished workflow can be rerun.")
    known = {job.id for job in jobs}
    if request.jobs is not None and not all(j in known for j in request.jobs):
        raise Refusal(400, "Job not found in this workflow.")
    if request.from_failed and all(job.status == "success" for job in jobs):
        raise Refusal(400, "Workflow has no failed jobs to rerun.")
