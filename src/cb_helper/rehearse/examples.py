"""Turn an orb's usage examples into project configs a rehearsal can run.

An example's ``usage`` is a whole config, except that the packer keeps no ``parameters:`` block; a
downstream example therefore needs its pipeline parameters declared again (``declare``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import yaml

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.yamlio import load_yaml_file

#: The pipeline parameter the circleback orb's trigger passes downstream by default: the circleback record.
CIRCLEBACK_PARAMETER: dict[str, dict[str, Any]] = {"circleback": {"type": "string", "default": ""}}

#: The two pipeline parameters of the legacy handoff (``handoff: legacy`` on the trigger).
TRIGGERING_PARAMETERS: dict[str, dict[str, Any]] = {
    "triggering-pipeline-id": {"type": "string", "default": ""},
    "triggering-workflow-id": {"type": "string", "default": ""},
}


def load_orb(orb: Union[Path, str, Mapping[str, Any]]) -> dict[str, Any]:
    """A packed orb, from a file or already loaded."""
    data = dict(orb) if isinstance(orb, Mapping) else load_yaml_file(Path(orb))
    if not isinstance(data, dict):
        raise ConfigError(f"{orb!r} is not a packed orb (expected a mapping)")
    return data


def example_config(orb: Union[Path, str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """A copy of the example's ``usage`` config."""
    examples = load_orb(orb).get("examples") or {}
    if name not in examples:
        raise ConfigError(f"the orb has no example {name!r} (expected one of {', '.join(sorted(examples))})")
    usage = examples[name].get("usage")
    if not isinstance(usage, dict):
        raise ConfigError(f"example {name!r} has no usage config")
    return copy.deepcopy(usage)


def declare(config: dict[str, Any], parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Add pipeline parameter declarations to a config (returns the same dict)."""
    config.setdefault("parameters", {}).update({k: dict(v) for k, v in parameters.items()})
    return config


def set_arguments(config: dict[str, Any], job: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Add or change arguments of every workflow job entry named ``job`` (its ``name:`` or reference)."""
    found = False
    for workflow in (config.get("workflows") or {}).values():
        if not isinstance(workflow, dict):
            continue
        entries = workflow.get("jobs") or []
        for index, entry in enumerate(entries):
            reference, given = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            given = dict(given or {})
            if given.get("name", reference) == job:
                given.update(arguments)
                entries[index] = {reference: given}
                found = True
    if not found:
        raise ConfigError(f"no workflow job named {job!r} in the config")
    return config


def localize(config: dict[str, Any], root: Path, *, interval: int = 1) -> dict[str, Any]:
    """Fit the circleback orb's trigger and check_status jobs for a rehearsal on one machine.

    Each gets its own ``workspace_root`` under ``root`` (jobs share this host's filesystem, and the
    default ``/tmp/circleback`` would be shared by every job and every rehearsal), so the pipeline
    id really travels through the workspace; checks poll every ``interval`` seconds.
    """
    for workflow in (config.get("workflows") or {}).values():
        if not isinstance(workflow, dict):
            continue
        for entry in workflow.get("jobs") or []:
            if not isinstance(entry, dict):
                continue
            reference, arguments = next(iter(entry.items()))
            name = str((arguments or {}).get("name", reference))
            component = str(reference).partition("/")[2]
            if component == "trigger":
                set_arguments(config, name, {"workspace_root": str(root / "workspaces" / name)})
            elif component == "check_status":
                set_arguments(config, name, {"workspace_root": str(root / "workspaces" / name), "interval": interval})
    return config


def write_config(config: Mapping[str, Any], project_dir: Path) -> Path:
    """Write ``project_dir/.circleci/config.yml``; returns its path."""
    path = project_dir / ".circleci" / "config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False, width=110), encoding="utf-8")
    return path
