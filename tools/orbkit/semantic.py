"""Semantic checks of a packed orb that the JSON schema cannot express.

What CircleCI's config compiler would reject at run time: parameters used but not declared, defaults of
the wrong type or outside their enum, ``env_var_name`` defaults that are no variable names, calls to
commands or executors that do not exist, missing or unknown arguments, ``pipeline.parameters``
(out of scope inside an orb), and ``<< parameters.x >>`` written in an included script (never substituted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PARAMETER_TYPES = frozenset({"string", "boolean", "integer", "enum", "executor", "steps", "env_var_name"})
ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
PARAMETER_USE = re.compile(r"(?<!\\)<<[#^/]?\s*parameters\.([A-Za-z0-9_-]+)\s*>>")
PIPELINE_PARAMETER_USE = re.compile(r"(?<!\\)<<[#^/]?\s*pipeline\.parameters\.")
#: A reference the packer escaped: it sat in an included file, where CircleCI never substitutes it.
ESCAPED_USE = re.compile(r"\\<<[#^/]?\s*((?:parameters|pipeline)\.[A-Za-z0-9_.-]+)\s*>>")

BUILTIN_STEPS = frozenset(
    {
        "run",
        "checkout",
        "setup_remote_docker",
        "save_cache",
        "restore_cache",
        "store_artifacts",
        "store_test_results",
        "persist_to_workspace",
        "attach_workspace",
        "add_ssh_keys",
        "deploy",
        "when",
        "unless",
    }
)
#: Keys a workflow may give any job invocation besides the job's own parameters.
WORKFLOW_JOB_KEYS = frozenset(
    {
        "name",
        "requires",
        "context",
        "filters",
        "matrix",
        "pre-steps",
        "post-steps",
        "type",
        "serial-group",
        "override-with",
    }
)


@dataclass(frozen=True)
class Finding:
    """One problem: where it is and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check_orb(orb: Mapping[str, Any], orb_ref: str = "") -> list[Finding]:
    """Every semantic check of a packed orb. ``orb_ref`` (``ns/name``) lets examples be checked too."""
    findings: list[Finding] = []
    commands = _section(orb, "commands")
    executors = _section(orb, "executors")
    jobs = _section(orb, "jobs")
    aliases = set(_section(orb, "orbs"))
    for kind, section in (("commands", commands), ("executors", executors), ("jobs", jobs)):
        for name, body in section.items():
            where = f"{kind}/{name}"
            if not NAME.match(name):
                findings.append(Finding(where, f"name {name!r} is not lower-case [a-z][a-z0-9_-]*"))
            if not isinstance(body, dict):
                findings.append(Finding(where, "is not a mapping"))
                continue
            findings.extend(_check_parameters(where, body.get("parameters") or {}, executors))
            findings.extend(_check_references(where, body))
            if kind != "executors":
                findings.extend(_check_steps(where, body.get("steps") or [], commands, aliases))
            if kind == "jobs":
                findings.extend(_check_job_executor(where, body, executors))
    if orb_ref:
        for name, example in _section(orb, "examples").items():
            usage = example.get("usage") if isinstance(example, dict) else None
            if isinstance(usage, dict):
                findings.extend(check_usage(f"examples/{name}", usage, orb, orb_ref))
    return findings


def _section(orb: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = orb.get(key)
    return value if isinstance(value, dict) else {}


def _strings(node: Any, skip_descriptions: bool = True) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            if skip_descriptions and key == "description" and isinstance(value, str):
                continue
            yield from _strings(value, skip_descriptions)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, skip_descriptions)


def _check_references(where: str, body: dict[str, Any]) -> Iterator[Finding]:
    declared = set(body.get("parameters") or {})
    used: set[str] = set()
    for text in _strings({k: v for k, v in body.items() if k != "parameters"}):
        used.update(PARAMETER_USE.findall(text))
        if PIPELINE_PARAMETER_USE.search(text):
            yield Finding(where, f"uses pipeline parameters, which are not in scope inside an orb: {text[:80]!r}")
        for name in sorted(set(ESCAPED_USE.findall(text))):
            yield Finding(
                where,
                f"an included script refers to << {name} >>, which is never substituted there "
                "(pass the value through the step's environment: instead)",
            )
    for text in _strings(body.get("parameters") or {}):
        used.update(PARAMETER_USE.findall(text))
    for name in sorted(used - declared):
        yield Finding(where, f"<< parameters.{name} >> is used but no parameter {name!r} is declared")


def _check_parameters(where: str, parameters: Any, executors: Mapping[str, Any]) -> Iterator[Finding]:
    if not isinstance(parameters, dict):
        yield Finding(where, "parameters is not a mapping")
        return
    for name, spec in parameters.items():
        at = f"{where} parameter {name!r}"
        if not NAME.match(name):
            yield Finding(where, f"parameter name {name!r} is not lower-case [a-z][a-z0-9_-]*")
        if not isinstance(spec, dict):
            yield Finding(at, "is not a mapping")
            continue
        kind = spec.get("type")
        if kind not in PARAMETER_TYPES:
            yield Finding(at, f"type {kind!r} is not one of {', '.join(sorted(PARAMETER_TYPES))}")
            continue
        if kind == "enum":
            values = spec.get("enum")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                yield Finding(at, "an enum needs a non-empty list of strings in 'enum'")
                continue
        if "default" not in spec:
            continue
        yield from _check_default(at, kind, spec, executors)


def _check_default(at: str, kind: str, spec: dict[str, Any], executors: Mapping[str, Any]) -> Iterator[Finding]:
    default = spec["default"]
    if kind == "boolean" and not isinstance(default, bool):
        yield Finding(at, f"default {default!r} is not a boolean (write true or false)")
    elif kind == "integer" and (isinstance(default, bool) or not isinstance(default, int)):
        yield Finding(at, f"default {default!r} is not an integer")
    elif kind in ("string", "env_var_name", "executor") and not isinstance(default, str):
        yield Finding(at, f"default {default!r} is not a string (quote it)")
    elif kind == "enum" and default not in spec["enum"]:
        yield Finding(at, f"default {default!r} is not one of the enum values {spec['enum']}")
    elif kind == "steps" and not isinstance(default, list):
        yield Finding(at, "default of a steps parameter must be a list of steps")
    elif kind == "env_var_name" and not ENV_VAR_NAME.match(default):
        yield Finding(at, f"default {default!r} is not an environment variable name")
    elif kind == "executor" and "<<" not in default and default not in executors and "/" not in default:
        yield Finding(at, f"default executor {default!r} is not defined in this orb")


def _step_call(step: Any) -> tuple[str, Any]:
    if isinstance(step, str):
        return step, None
    if isinstance(step, dict) and len(step) == 1:
        name = next(iter(step))
        return name, step[name]
    return "", None


def _check_steps(where: str, steps: Any, commands: Mapping[str, Any], aliases: set[str]) -> Iterator[Finding]:
    if isinstance(steps, str):
        return
    if not isinstance(steps, list):
        yield Finding(where, "steps is not a list")
        return
    for step in steps:
        name, args = _step_call(step)
        if not name:
            yield Finding(where, f"step {step!r} is not a step name or a one-key mapping")
            continue
        if PARAMETER_USE.fullmatch(name.strip()):
            continue
        if name in ("when", "unless"):
            if isinstance(args, dict):
                yield from _check_steps(where, args.get("steps") or [], commands, aliases)
            continue
        if name in BUILTIN_STEPS:
            continue
        if "/" in name:
            if name.split("/", 1)[0] not in aliases:
                yield Finding(where, f"step {name!r} refers to orb {name.split('/', 1)[0]!r}, which is not imported")
            continue
        if name not in commands:
            yield Finding(where, f"step {name!r} is neither a built-in step nor a command of this orb")
            continue
        yield from check_arguments(f"{where} step {name!r}", _parameters_of(commands[name]), args, frozenset())


def _parameters_of(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("parameters"), dict):
        return dict(body["parameters"])
    return {}


def check_arguments(where: str, parameters: Mapping[str, Any], args: Any, extra: frozenset[str]) -> Iterator[Finding]:
    """Arguments given to a command, job or executor: none missing, none unknown."""
    given = args if isinstance(args, dict) else {}
    if args is not None and not isinstance(args, dict):
        yield Finding(where, f"arguments {args!r} are not a mapping")
    for name, spec in parameters.items():
        if isinstance(spec, dict) and "default" not in spec and name not in given:
            yield Finding(where, f"required parameter {name!r} is not given")
    for name in given:
        if name not in parameters and name not in extra:
            yield Finding(where, f"parameter {name!r} is not declared by the callee")


def _check_job_executor(where: str, body: dict[str, Any], executors: Mapping[str, Any]) -> Iterator[Finding]:
    executor = body.get("executor")
    if executor is None:
        if not any(k in body for k in ("docker", "machine", "macos")):
            yield Finding(where, "has neither an executor nor docker/machine/macos")
        return
    name, args = (executor.get("name"), executor) if isinstance(executor, dict) else (executor, None)
    if not isinstance(name, str):
        yield Finding(where, "executor has no name")
        return
    if PARAMETER_USE.fullmatch(name.strip()) or "/" in name:
        return
    if name not in executors:
        yield Finding(where, f"executor {name!r} is not defined in this orb")
        return
    if isinstance(args, dict):
        yield from check_arguments(
            f"{where} executor {name!r}", _parameters_of(executors[name]), args, frozenset({"name"})
        )


def check_usage(where: str, usage: Mapping[str, Any], orb: Mapping[str, Any], orb_ref: str) -> Iterator[Finding]:
    """An example (or any config) that imports this orb: its calls to the orb's jobs and commands.

    An alias bound to an empty placeholder (``circleback: {}``, filled in by orb-tools' continue job)
    counts as an import of this orb.
    """
    aliases = [
        alias
        for alias, ref in (usage.get("orbs") or {}).items()
        if ref == {} or (isinstance(ref, str) and ref.split("@")[0] == orb_ref)
    ]
    if not aliases:
        yield Finding(where, f"does not import {orb_ref}")
        return
    jobs, commands = _section(orb, "jobs"), _section(orb, "commands")
    local_jobs = usage.get("jobs") or {}
    for alias in aliases:
        prefix = alias + "/"
        for workflow_name, workflow in (usage.get("workflows") or {}).items():
            if not isinstance(workflow, dict):
                continue
            for entry in workflow.get("jobs") or []:
                name, args = _step_call(entry)
                at = f"{where} workflow {workflow_name} job {name!r}"
                if name.startswith(prefix):
                    if name[len(prefix) :] not in jobs:
                        yield Finding(at, "is not a job of this orb")
                        continue
                    yield from check_arguments(at, _parameters_of(jobs[name[len(prefix) :]]), args, WORKFLOW_JOB_KEYS)
                elif name not in local_jobs and "/" not in name and not _is_approval(args):
                    yield Finding(at, "is neither a job of the example nor an approval job")
                if isinstance(args, dict):
                    for key in ("pre-steps", "post-steps"):
                        yield from _check_orb_steps(f"{at} {key}", args.get(key) or [], prefix, commands)
        for job_name, job in local_jobs.items():
            if isinstance(job, dict):
                yield from _check_orb_steps(f"{where} job {job_name}", job.get("steps") or [], prefix, commands)


def _is_approval(args: Any) -> bool:
    return isinstance(args, dict) and args.get("type") == "approval"


def _check_orb_steps(where: str, steps: Any, prefix: str, commands: Mapping[str, Any]) -> Iterator[Finding]:
    for step in steps if isinstance(steps, list) else []:
        name, args = _step_call(step)
        if not name.startswith(prefix):
            continue
        command = name[len(prefix) :]
        if command not in commands:
            yield Finding(where, f"step {name!r} is not a command of this orb")
            continue
        yield from check_arguments(f"{where} step {name!r}", _parameters_of(commands[command]), args, frozenset())
