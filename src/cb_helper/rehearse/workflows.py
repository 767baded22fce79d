"""Plan a pipeline's workflows: workflow conditions, job invocations, approvals, filters and requires."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Collection, Mapping
from typing import Any, Optional

from cb_helper.api.vocabulary import REQUIRES_STATUSES
from cb_helper.rehearse.compiler import Values, compile_job
from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.logic import evaluate
from cb_helper.rehearse.plan import JobPlan, PipelinePlan, WorkflowPlan
from cb_helper.rehearse.project import ProjectConfig
from cb_helper.rehearse.templating import substitute

_WORKFLOW_KEYS = frozenset({"jobs", "when", "unless", "triggers"})
_INVOCATION_KEYS = frozenset({"requires", "context", "filters", "type", "name", "pre-steps", "post-steps"})
#: An approval job runs no steps and takes no parameters: only these keys mean something on it.
_APPROVAL_KEYS = frozenset({"requires", "context", "filters", "type", "name"})
_UNSUPPORTED_INVOCATION_KEYS = {
    "matrix": "matrix jobs are not supported by the rehearsal runner",
    "serial-group": "serial groups are not supported by the rehearsal runner",
    "override-with": "override-with is not supported by the rehearsal runner",
}


#: The API's ``trigger.type`` to the pipeline value ``pipeline.trigger.type``, where they differ.
TRIGGER_VALUES = {"scheduled_pipeline": "schedule"}


def pipeline_values(
    *,
    pipeline_id: str,
    number: int,
    project_slug: str,
    branch: Optional[str],
    tag: Optional[str],
    trigger_type: str = "api",
    received_at: str = "",
    schedule_name: Optional[str] = None,
) -> dict[str, Any]:
    """The ``<< pipeline.* >>`` values of one pipeline (those the runner knows; others are errors).

    ``trigger_type`` is the API's (``scheduled_pipeline`` for a schedule); ``pipeline.trigger.type`` names it as
    CircleCI's pipeline values do (``schedule``). ``pipeline.trigger_source`` is gone, as on CircleCI cloud.
    """
    provider, _, rest = project_slug.partition("/")
    host = {"gh": "github.com", "github": "github.com", "bb": "bitbucket.org", "bitbucket": "bitbucket.org"}
    revision = hashlib.sha1(pipeline_id.encode(), usedforsecurity=False).hexdigest()
    return {
        "id": pipeline_id,
        "number": number,
        "project.slug": project_slug,
        "project.git_url": f"https://{host.get(provider, 'circleci.com')}/{rest}",
        "project.type": {"gh": "github", "bb": "bitbucket"}.get(provider, provider),
        "git.branch": branch or "",
        "git.tag": tag or "",
        "git.revision": revision,
        "git.base_revision": revision,
        "trigger.type": TRIGGER_VALUES.get(trigger_type, trigger_type),
        "trigger.id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trigger:{project_slug}:{schedule_name or trigger_type}")),
        "trigger.name": schedule_name or "",
        "trigger.received_at": received_at,
        "schedule.name": schedule_name or "",
        "schedule.id": "",
    }


def plan_pipeline(
    project: ProjectConfig,
    values: Values,
    *,
    branch: Optional[str],
    tag: Optional[str],
    contexts: Optional[Collection[str]] = None,
) -> PipelinePlan:
    """Compile every workflow that runs for this pipeline; the first problem is a :class:`ConfigError`."""
    plans: list[WorkflowPlan] = []
    skipped: list[str] = []
    for name, definition in project.workflows.items():
        if name == "version" and not isinstance(definition, dict):
            continue
        try:
            plan = _plan_workflow(str(name), definition, project, values, branch, tag, contexts)
        except ConfigError as exc:
            raise exc.within(f"workflow '{name}'") from None
        if plan is None or not plan.jobs:
            skipped.append(str(name))
        else:
            plans.append(plan)
    return PipelinePlan(workflows=tuple(plans), skipped=tuple(skipped), setup=project.setup)


def _plan_workflow(
    name: str,
    definition: Any,
    project: ProjectConfig,
    values: Values,
    branch: Optional[str],
    tag: Optional[str],
    contexts: Optional[Collection[str]],
) -> Optional[WorkflowPlan]:
    if not isinstance(definition, dict):
        raise ConfigError(f"is {definition!r} (expected a mapping with jobs)")
    unknown = sorted(str(k) for k in definition if k not in _WORKFLOW_KEYS)
    if unknown:
        raise ConfigError(f"has unsupported key(s) {', '.join(unknown)}")
    definition = substitute(definition, values.scope(project.namespace))
    if "when" in definition and not evaluate(definition["when"]):
        return None
    if "unless" in definition and evaluate(definition["unless"]):
        return None
    if definition.get("triggers"):
        return None  # a scheduled workflow never runs in a triggered pipeline
    jobs = definition.get("jobs")
    if not isinstance(jobs, list) or not jobs:
        raise ConfigError("has no jobs (expected a non-empty list)")
    planned: dict[str, JobPlan] = {}
    filtered: set[str] = set()
    for entry in jobs:
        reference, arguments = _invocation(entry)
        job_name = str(arguments.get("name", reference))
        if job_name in planned or job_name in filtered:
            raise ConfigError(f"has two jobs named '{job_name}' (give one a distinct 'name:')")
        try:
            plan = _plan_job(job_name, reference, arguments, project, values, contexts)
        except ConfigError as exc:
            raise exc.within(f"job '{job_name}'") from None
        if _passes(arguments.get("filters"), branch, tag):
            planned[job_name] = plan
        else:
            filtered.add(job_name)
    return WorkflowPlan(name=name, jobs=_order(planned, filtered))


def _invocation(entry: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        [(reference, arguments)] = entry.items()
        if arguments is None:
            arguments = {}
        if isinstance(reference, str) and isinstance(arguments, dict):
            return reference, arguments
    raise ConfigError(f"job entry {entry!r} is not a job name or a mapping of one job name to its arguments")


def _plan_job(
    name: str,
    reference: str,
    arguments: dict[str, Any],
    project: ProjectConfig,
    values: Values,
    contexts: Optional[Collection[str]],
) -> JobPlan:
    for key, reason in _UNSUPPORTED_INVOCATION_KEYS.items():
        if key in arguments:
            raise ConfigError(reason)
    requires = _requires(arguments.get("requires"))
    context = arguments.get("context") or []
    context_names = (context,) if isinstance(context, str) else tuple(context)
    if not all(isinstance(c, str) for c in context_names):
        raise ConfigError(f"context {context!r} is not a name or a list of names")
    if contexts is not None:
        for context_name in context_names:
            if context_name not in contexts:
                raise ConfigError(
                    f"context '{context_name}' is not defined (expected it to be given to the rehearsal, "
                    f"e.g. --context {context_name}=FILE.env)"
                )
    kind = arguments.get("type", "build")
    if kind == "approval":
        unknown = sorted(str(k) for k in arguments if k not in _APPROVAL_KEYS)
        if unknown:
            raise ConfigError(
                f"approval job has unsupported key(s) {', '.join(unknown)} "
                f"(an approval takes only {', '.join(sorted(_APPROVAL_KEYS))})"
            )
        return JobPlan(name=name, requires=requires, job=None, contexts=context_names)
    if kind != "build":
        raise ConfigError(f"has type {kind!r} (expected approval, or no type for a build job)")
    parameters = {k: v for k, v in arguments.items() if k not in _INVOCATION_KEYS}
    job = compile_job(
        project.namespace,
        reference,
        parameters,
        values,
        pre_steps=arguments.get("pre-steps"),
        post_steps=arguments.get("post-steps"),
    )
    return JobPlan(name=name, requires=requires, job=job, contexts=context_names)


def _requires(value: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"requires is {value!r} (expected a list)")
    result: list[tuple[str, frozenset[str]]] = []
    for entry in value:
        if isinstance(entry, str):
            result.append((entry, frozenset({"success"})))
            continue
        if not (isinstance(entry, dict) and len(entry) == 1):
            raise ConfigError(f"requires entry {entry!r} is not a job name or 'job: status'")
        [(job, statuses)] = entry.items()
        listed = [statuses] if isinstance(statuses, str) else statuses
        if not isinstance(listed, list) or not listed:
            raise ConfigError(f"requires entry for '{job}' has status {statuses!r}")
        allowed: set[str] = set()
        for status in listed:
            if status == "terminal":
                allowed |= REQUIRES_STATUSES
            elif status in REQUIRES_STATUSES:
                allowed.add(status)
            else:
                raise ConfigError(
                    f"requires status {status!r} for '{job}' (expected {', '.join(sorted(REQUIRES_STATUSES))} "
                    "or terminal)"
                )
        result.append((str(job), frozenset(allowed)))
    return tuple(result)


def _passes(filters: Any, branch: Optional[str], tag: Optional[str]) -> bool:
    if filters is None:
        return tag is None
    if not isinstance(filters, dict) or set(filters) - {"branches", "tags"}:
        raise ConfigError(f"filters {filters!r} (expected a mapping with branches and/or tags)")
    if tag is not None:
        return "tags" in filters and _filter(filters["tags"], tag, "tags")
    return "branches" not in filters or _filter(filters["branches"], branch or "", "branches")


def _filter(spec: Any, value: str, what: str) -> bool:
    if not isinstance(spec, dict) or set(spec) - {"only", "ignore"}:
        raise ConfigError(f"filters.{what} {spec!r} (expected a mapping with only and/or ignore)")
    if "ignore" in spec and _matches(spec["ignore"], value):
        return False
    return "only" not in spec or _matches(spec["only"], value)


def _matches(patterns: Any, value: str) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    for item in listed:
        pattern = str(item)
        if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
            try:
                if re.fullmatch(pattern[1:-1], value):
                    return True
            except re.error as exc:
                raise ConfigError(f"filter pattern {pattern!r} is not a valid regular expression ({exc})") from None
        elif pattern == value:
            return True
    return False


def _order(planned: Mapping[str, JobPlan], filtered: set[str]) -> tuple[JobPlan, ...]:
    """Drop jobs that require filtered-out jobs, check every requirement exists, sort dependencies first."""
    alive = dict(planned)
    changed = True
    while changed:
        changed = False
        for name, plan in list(alive.items()):
            if any(required in filtered or required not in alive for required, _ in plan.requires):
                missing = [r for r, _ in plan.requires if r not in alive and r not in filtered and r not in planned]
                if missing:
                    raise ConfigError(f"job '{name}' requires '{missing[0]}', which is not a job of this workflow")
                del alive[name]
                filtered.add(name)
                changed = True
    ordered: list[JobPlan] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ConfigError(f"jobs require each other in a cycle: {' -> '.join([*visiting, name])}")
        visiting.append(name)
        for required, _ in alive[name].requires:
            visit(required)
        visiting.pop()
        done.add(name)
        ordered.append(alive[name])

    for name in alive:
        visit(name)
    return tuple(ordered)
