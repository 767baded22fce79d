"""A project's config as the runner sees it: its namespace of jobs, commands and executors, its orbs
(inline, or a packed orb injected under the name the config imports), its pipeline parameters and workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.parameters import Declaration, parse_declarations
from cb_helper.rehearse.yamlio import load_yaml_file

_CONFIG_KEYS = frozenset({"version", "orbs", "commands", "executors", "jobs", "workflows", "parameters", "setup"})
_ORB_KEYS = frozenset({"version", "description", "display", "orbs", "commands", "executors", "jobs", "examples"})
_KINDS = ("commands", "executors", "jobs")

OrbSource = Union[Path, str, Mapping[str, Any]]


@dataclass
class Namespace:
    """The components visible at one place: a project config, or one orb (with the orbs it imports)."""

    label: str
    in_orb: bool
    commands: dict[str, Any] = field(default_factory=dict)
    executors: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Any] = field(default_factory=dict)
    orbs: dict[str, Namespace] = field(default_factory=dict)

    def find(self, kind: str, reference: str) -> tuple[Any, Namespace]:
        """A component (``kind`` is commands, executors or jobs) by local or ``orb/name`` reference."""
        alias, slash, rest = reference.partition("/")
        if slash:
            if alias not in self.orbs:
                where = f" in orb '{self.label}'" if self.in_orb else ""
                raise ConfigError(
                    f"{_singular(kind)} '{reference}' refers to orb '{alias}', which is not imported{where}"
                )
            return self.orbs[alias].find(kind, rest)
        table: dict[str, Any] = getattr(self, kind)
        if reference not in table:
            where = f"orb '{self.label}'" if self.in_orb else "the config"
            raise ConfigError(f"{_singular(kind)} '{reference}' is not defined in {where}")
        return table[reference], self

    def has_command(self, reference: str) -> bool:
        try:
            self.find("commands", reference)
        except ConfigError:
            return False
        return True


def _singular(kind: str) -> str:
    return {"commands": "command", "executors": "executor", "jobs": "job"}[kind]


@dataclass
class ProjectConfig:
    """A loaded ``.circleci/config.yml``."""

    path: Path
    namespace: Namespace
    workflows: dict[str, Any]
    parameters: dict[str, Declaration]
    #: ``setup: true``: the pipeline's setup phase (dynamic configuration), continued through the API.
    setup: bool = False


def load_project(path: Path, orbs: Mapping[str, OrbSource]) -> ProjectConfig:
    """Load a config and resolve its orbs; every problem is a :class:`ConfigError`."""
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{str(path)!r} does not hold a mapping (expected a CircleCI config)")
    unknown = sorted(str(k) for k in data if k not in _CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"config {str(path)!r} has unsupported top-level key(s) {', '.join(unknown)}")
    if str(data.get("version")) not in ("2.1", "2"):
        raise ConfigError(f"config {str(path)!r} has version {data.get('version')!r} (expected 2.1)")
    setup = data.get("setup", False)
    if not isinstance(setup, bool):
        raise ConfigError(f"setup is {setup!r} (expected true or false)")
    namespace = Namespace(label="", in_orb=False)
    _fill(namespace, data, str(path))
    namespace.orbs = _import_orbs(data.get("orbs"), orbs, stack=())
    workflows = data.get("workflows") or {}
    if not isinstance(workflows, dict):
        raise ConfigError("workflows must be a mapping of workflow names to definitions")
    try:
        parameters = parse_declarations(data.get("parameters"), pipeline=True)
    except ConfigError as exc:
        raise exc.within("pipeline parameters") from None
    return ProjectConfig(path=path, namespace=namespace, workflows=workflows, parameters=parameters, setup=setup)


def _fill(namespace: Namespace, data: Mapping[str, Any], source: str) -> None:
    for kind in _KINDS:
        table = data.get(kind) or {}
        if not isinstance(table, dict):
            raise ConfigError(f"{kind} in {source} must be a mapping of names to definitions")
        for name, definition in table.items():
            if not isinstance(definition, dict):
                raise ConfigError(f"{_singular(kind)} '{name}' in {source} must be a mapping, not {definition!r}")
        setattr(namespace, kind, dict(table))


def _import_orbs(declared: Any, provided: Mapping[str, OrbSource], *, stack: tuple[str, ...]) -> dict[str, Namespace]:
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise ConfigError("orbs must be a mapping of names to orb references or inline orbs")
    result: dict[str, Namespace] = {}
    for key, reference in declared.items():
        alias = label = str(key)
        if isinstance(reference, dict):
            body: Any = reference
        elif isinstance(reference, str):
            body = _provided_orb(alias, reference, provided)
            label = reference.split("@", 1)[0]
        else:
            raise ConfigError(f"orb '{alias}' is {reference!r} (expected namespace/name@version or an inline orb)")
        if len(stack) > 8 or label in stack:
            raise ConfigError(f"orb '{alias}' imports itself (through {' -> '.join(stack)})")
        result[alias] = _orb_namespace(alias, body, provided, stack=(*stack, label))
    return result


def _provided_orb(alias: str, reference: str, provided: Mapping[str, OrbSource]) -> Any:
    registry_name = reference.split("@", 1)[0]
    source = provided.get(alias, provided.get(registry_name))
    if source is None:
        raise ConfigError(
            f"orb '{alias}' ({reference}) comes from the orb registry, which the rehearsal runner cannot reach "
            f"(expected a packed orb given as {alias}=PATH/orb.yml)"
        )
    if isinstance(source, Mapping):
        return dict(source)
    return load_yaml_file(Path(source))


def _orb_namespace(alias: str, body: Any, provided: Mapping[str, OrbSource], *, stack: tuple[str, ...]) -> Namespace:
    if not isinstance(body, dict):
        raise ConfigError(f"orb '{alias}' is not a mapping (expected a packed orb)")
    unknown = sorted(str(k) for k in body if k not in _ORB_KEYS)
    if unknown:
        raise ConfigError(f"orb '{alias}' has unsupported top-level key(s) {', '.join(unknown)}")
    namespace = Namespace(label=alias, in_orb=True)
    _fill(namespace, body, f"orb '{alias}'")
    namespace.orbs = _import_orbs(body.get("orbs"), provided, stack=stack)
    return namespace
