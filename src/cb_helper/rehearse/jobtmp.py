"""Give each job its own ``/tmp``, as each CircleCI job has its own container.

Jobs of a rehearsal share this machine's filesystem, so a job parameter whose default lies under ``/tmp``
(the circleback orb's ``workspace_root`` is ``/tmp/circleback``) would be shared by every job and by
every rehearsal running beside it. Before a pipeline is planned, each job invocation that leaves such a
parameter at its default is given the same path under a directory of that job's own.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.parameters import parse_declarations
from cb_helper.rehearse.project import ProjectConfig

TMP = "/tmp"  # noqa: S108 - the container path being mapped, never written to
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip(".") or "_"


def private_tmp(project: ProjectConfig, root: Path) -> ProjectConfig:
    """``project`` with every ``/tmp`` default of its jobs' parameters moved under ``root/<workflow>/<job>``."""
    workflows: dict[str, Any] = {}
    for name, definition in project.workflows.items():
        jobs = definition.get("jobs") if isinstance(definition, dict) else None
        if not isinstance(jobs, list):
            workflows[name] = definition
            continue
        where = root / _safe(str(name))
        workflows[name] = {**definition, "jobs": [_entry(entry, project, where) for entry in jobs]}
    return dataclasses.replace(project, workflows=workflows)


def _entry(entry: Any, project: ProjectConfig, where: Path) -> Any:
    if isinstance(entry, str):
        reference, arguments = entry, {}
    elif isinstance(entry, dict) and len(entry) == 1:
        [(reference, given)] = entry.items()
        if given is not None and not isinstance(given, dict):
            return entry  # the planner reports it
        arguments = dict(given or {})
    else:
        return entry
    if not isinstance(reference, str) or arguments.get("type") == "approval":
        return entry
    try:
        definition, _ = project.namespace.find("jobs", reference)
        declarations = parse_declarations(definition.get("parameters")) if isinstance(definition, dict) else {}
    except ConfigError:
        return entry  # the planner reports it, with its context
    job_dir = where / _safe(str(arguments.get("name", reference)))
    moved = {
        name: str(job_dir) + declaration.default[len(TMP) :]
        for name, declaration in declarations.items()
        if name not in arguments
        and isinstance(declaration.default, str)
        and (declaration.default == TMP or declaration.default.startswith(TMP + "/"))
    }
    return {reference: {**arguments, **moved}} if moved else entry
