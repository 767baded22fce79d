"""Small helpers shared by the runner's tests: write a config, compile it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from cb_helper.rehearse.compiler import Values
from cb_helper.rehearse.parameters import bind_pipeline
from cb_helper.rehearse.plan import PipelinePlan
from cb_helper.rehearse.project import OrbSource, load_project
from cb_helper.rehearse.workflows import pipeline_values, plan_pipeline

PIPELINE_ID = "5034460f-c7c4-4c43-9457-de07e2029e7b"


def write_project(root: Path, name: str, config: str, files: Optional[Mapping[str, str]] = None) -> Path:
    """Create ``root/name`` with ``.circleci/config.yml``; returns the config's path."""
    project = root / name
    (project / ".circleci").mkdir(parents=True, exist_ok=True)
    path = project / ".circleci" / "config.yml"
    path.write_text(textwrap.dedent(config), encoding="utf-8")
    for relative, text in (files or {}).items():
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def compile_config(
    tmp_path: Path,
    config: str,
    *,
    orbs: Optional[Mapping[str, OrbSource]] = None,
    branch: Optional[str] = "main",
    tag: Optional[str] = None,
    parameters: Optional[Mapping[str, Any]] = None,
    contexts: Optional[Mapping[str, Any]] = None,
    slug: str = "gh/acme/app",
) -> PipelinePlan:
    path = write_project(tmp_path, "app", config)
    project = load_project(path, orbs or {})
    values = Values(
        pipeline_values(pipeline_id=PIPELINE_ID, number=3, project_slug=slug, branch=branch, tag=tag),
        bind_pipeline(project.parameters, parameters or {}),
    )
    return plan_pipeline(project, values, branch=branch, tag=tag, contexts=contexts)
