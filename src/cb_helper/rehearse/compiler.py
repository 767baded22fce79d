"""Compile one job invocation into concrete steps: parameters bound, commands and executors expanded,
compile-time ``when``/``unless`` decided, pre- and post-steps added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from cb_helper.rehearse.builtins import BUILTIN_NAMES, environment, parse_builtin, text
from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.logic import evaluate
from cb_helper.rehearse.parameters import bind, parse_declarations
from cb_helper.rehearse.plan import CompiledJob, Step
from cb_helper.rehearse.project import Namespace
from cb_helper.rehearse.templating import Scope, Scoped, substitute

_JOB_KEYS = frozenset(
    {
        "docker",
        "machine",
        "macos",
        "executor",
        "resource_class",
        "working_directory",
        "environment",
        "shell",
        "steps",
        "parameters",
        "description",
        "parallelism",
        "circleci_ip_ranges",
    }
)
_EXECUTOR_KEYS = frozenset(
    {
        "docker",
        "machine",
        "macos",
        "resource_class",
        "working_directory",
        "environment",
        "shell",
        "parameters",
        "description",
    }
)
_MACHINE_KINDS = ("docker", "machine", "macos")
_DOCKER_KEYS = frozenset({"image", "environment", "auth", "aws_auth"})
_MAX_DEPTH = 32


@dataclass(frozen=True)
class Values:
    """Pipeline values (``pipeline.id``, ``pipeline.git.branch``, ...) and bound pipeline parameters."""

    pipeline: Mapping[str, Any]
    parameters: Mapping[str, Any]

    def scope(self, namespace: Namespace, parameters: Optional[Mapping[str, Any]] = None) -> Scope:
        return Scope(
            parameters=parameters or {},
            pipeline=self.pipeline,
            pipeline_parameters=self.parameters,
            in_orb=namespace.in_orb,
        )


@dataclass(frozen=True)
class _Machine:
    environment: tuple[tuple[str, str], ...] = ()
    working_directory: Optional[str] = None
    shell: Optional[str] = None
    image: Optional[str] = None


def compile_job(
    namespace: Namespace,
    reference: str,
    arguments: Mapping[str, Any],
    values: Values,
    *,
    pre_steps: Any = None,
    post_steps: Any = None,
) -> CompiledJob:
    """Compile ``reference`` (a job of ``namespace``, or ``orb/job``) called with ``arguments``."""
    definition, home = namespace.find("jobs", reference)
    unknown = sorted(str(k) for k in definition if k not in _JOB_KEYS)
    if unknown:
        raise ConfigError(f"job '{reference}' has unsupported key(s) {', '.join(unknown)}")
    bound = bind(parse_declarations(definition.get("parameters")), arguments, caller=namespace, callee=home)
    body = substitute({k: v for k, v in definition.items() if k != "parameters"}, values.scope(home, bound))
    parallelism = body.get("parallelism", 1)
    if parallelism != 1:
        raise ConfigError(f"job '{reference}' has parallelism {parallelism!r} (the runner runs one node per job)")
    kinds = [k for k in (*_MACHINE_KINDS, "executor") if k in body]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise ConfigError(f"job '{reference}' needs exactly one of docker, machine, macos or executor (found {found})")
    if kinds[0] == "executor":
        machine = _executor(body["executor"], home, values)
    else:
        machine = _machine(body, f"job '{reference}'")
    if "steps" not in body:
        raise ConfigError(f"job '{reference}' has no steps")
    steps = [
        *expand(pre_steps or [], namespace, values),
        *expand(body["steps"], home, values),
        *expand(post_steps or [], namespace, values),
    ]
    env = dict(machine.environment)
    env.update(environment(body.get("environment"), f"job '{reference}' environment"))
    return CompiledJob(
        definition=reference,
        steps=tuple(steps),
        environment=tuple(env.items()),
        working_directory=text(body["working_directory"], "working_directory")
        if body.get("working_directory")
        else machine.working_directory or "~/project",
        shell=text(body["shell"], "shell") if body.get("shell") else machine.shell,
        image=machine.image,
    )


def _executor(value: Any, namespace: Namespace, values: Values) -> _Machine:
    if isinstance(value, Scoped):
        namespace, value = value.namespace, value.value
    if isinstance(value, str):
        name, arguments = value, {}
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        arguments = {k: v for k, v in value.items() if k != "name"}
        name = value["name"]
    else:
        raise ConfigError(f"executor {value!r} is not a name or a mapping with 'name'")
    definition, home = namespace.find("executors", name)
    unknown = sorted(str(k) for k in definition if k not in _EXECUTOR_KEYS)
    if unknown:
        raise ConfigError(f"executor '{name}' has unsupported key(s) {', '.join(unknown)}")
    try:
        bound = bind(parse_declarations(definition.get("parameters")), arguments, caller=namespace, callee=home)
    except ConfigError as exc:
        raise exc.within(f"Error calling executor: '{name}'") from None
    body = substitute({k: v for k, v in definition.items() if k != "parameters"}, values.scope(home, bound))
    return _machine(body, f"executor '{name}'")


def _machine(body: Mapping[str, Any], what: str) -> _Machine:
    kinds = [k for k in _MACHINE_KINDS if k in body]
    if len(kinds) != 1:
        raise ConfigError(f"{what} needs exactly one of docker, machine or macos")
    env: dict[str, str] = {}
    image: Optional[str] = None
    if kinds[0] == "docker":
        containers = body["docker"]
        if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
            raise ConfigError(f"{what} docker must be a list of images")
        if len(containers) > 1:
            raise ConfigError(f"{what} has {len(containers) - 1} secondary container(s), which the runner cannot start")
        unknown = sorted(str(k) for k in containers[0] if k not in _DOCKER_KEYS)
        if unknown:
            raise ConfigError(f"{what} docker image has unsupported key(s) {', '.join(unknown)}")
        image = text(containers[0].get("image"), f"{what} docker image")
        env.update(environment(containers[0].get("environment"), f"{what} docker environment"))
    elif kinds[0] == "machine":
        machine = body["machine"]
        if isinstance(machine, dict):
            unknown = sorted(str(k) for k in machine if k != "image")
            if unknown:
                raise ConfigError(
                    f"{what} machine has unsupported key(s) {', '.join(unknown)} (the runner supports image)"
                )
        image = str(machine.get("image", "machine")) if isinstance(machine, dict) else "machine"
    else:
        image = "macos"
    env.update(environment(body.get("environment"), f"{what} environment"))
    return _Machine(
        environment=tuple(env.items()),
        working_directory=text(body["working_directory"], "working_directory")
        if body.get("working_directory")
        else None,
        shell=text(body["shell"], "shell") if body.get("shell") else None,
        image=image,
    )


def expand(steps: Any, namespace: Namespace, values: Values, depth: int = 0) -> list[Step]:
    """Expand a (substituted) list of steps written in ``namespace`` into concrete steps."""
    if depth > _MAX_DEPTH:
        raise ConfigError(f"commands nest more than {_MAX_DEPTH} deep (a command that invokes itself?)")
    if isinstance(steps, Scoped):
        return expand(steps.value, steps.namespace, values, depth)
    if not isinstance(steps, list):
        raise ConfigError(f"steps must be a list, not {steps!r}")
    result: list[Step] = []
    for item in steps:
        if isinstance(item, Scoped):
            result.extend(
                expand(item.value if isinstance(item.value, list) else [item.value], item.namespace, values, depth)
            )
            continue
        name, arguments = _split(item)
        if name in ("when", "unless"):
            result.extend(_conditional(name, arguments, namespace, values, depth))
        elif name == "steps":
            result.extend(expand(arguments if arguments is not None else [], namespace, values, depth))
        elif name in BUILTIN_NAMES:
            result.append(parse_builtin(name, arguments))
        else:
            result.extend(_command(name, arguments, namespace, values, depth))
    return result


def _split(item: Any) -> tuple[str, Any]:
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and len(item) == 1:
        [(name, arguments)] = item.items()
        if isinstance(name, str):
            return name, arguments
    raise ConfigError(f"step {item!r} is not a step name or a mapping with one step name")


def _conditional(name: str, arguments: Any, namespace: Namespace, values: Values, depth: int) -> list[Step]:
    if not isinstance(arguments, dict) or "condition" not in arguments or set(arguments) - {"condition", "steps"}:
        raise ConfigError(f"'{name}' step needs exactly 'condition' and 'steps'")
    holds = evaluate(arguments["condition"])
    if holds == (name == "when"):
        return expand(arguments.get("steps") or [], namespace, values, depth)
    return []


def _command(name: str, arguments: Any, namespace: Namespace, values: Values, depth: int) -> list[Step]:
    try:
        definition, home = namespace.find("commands", name)
    except ConfigError:
        where = f"orb '{namespace.label}'" if namespace.in_orb else "the config"
        raise ConfigError(
            f"step '{name}' is neither a step the runner supports nor a command defined in {where}"
        ) from None
    try:
        unknown = sorted(str(k) for k in definition if k not in ("description", "parameters", "steps"))
        if unknown:
            raise ConfigError(f"has unsupported key(s) {', '.join(unknown)}")
        if arguments is not None and not isinstance(arguments, dict):
            raise ConfigError(f"takes a mapping of arguments, not {arguments!r}")
        bound = bind(parse_declarations(definition.get("parameters")), arguments or {}, caller=namespace, callee=home)
        body = substitute(definition.get("steps"), values.scope(home, bound))
        return expand(body, home, values, depth + 1)
    except ConfigError as exc:
        raise exc.within(f"command '{name}'") from None
