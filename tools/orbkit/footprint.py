"""How much config the packed orb puts into a pipeline: each ``run`` command, each orb job as CircleCI
compiles it, and an A fanning out to N downstreams.

CircleCI inlines an orb's commands into every job that uses them, so the compiled config of a project
grows by a whole orb job (bundled helper included) per job it calls. The compiled form here is the one
the local runner builds (:mod:`cb_helper.rehearse`: parameters bound, commands and executors expanded),
written as YAML the way ``circleci config process`` prints a compiled config: one job per workflow job,
literal blocks for multi-line commands. Sizes are UTF-8 bytes.
"""

from __future__ import annotations

import copy
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cb_helper.rehearse.compiler import Values
from cb_helper.rehearse.plan import (
    ArtifactsStep,
    AttachStep,
    CacheStep,
    CheckoutStep,
    CompiledJob,
    PersistStep,
    PipelinePlan,
    RunStep,
    Step,
    TestResultsStep,
)
from cb_helper.rehearse.project import load_project
from cb_helper.rehearse.workflows import pipeline_values, plan_pipeline

#: One ``run`` command of the packed orb, at most: half of Linux's cap on one argument (MAX_ARG_STRLEN,
#: 128 KiB), for a runner that hands the command to the shell as one argument.
COMMAND_BUDGET = 64 * 1024
#: One orb job as CircleCI compiles it (every command it calls inlined), at most.
JOB_BUDGET = 80_000
#: CircleCI refuses a compiled config over 8 MB; an A fanning out to this many downstreams stays far below.
FAN_OUT_BUDGET = 3_000_000
FAN_OUT_DOWNSTREAMS = 20

ORB_ALIAS = "circleback"
FAN_OUT_EXAMPLE = "fan_out_to_two_projects"
#: Placeholder arguments for required parameters, by parameter type, when a job is compiled on its own.
_PLACEHOLDERS: dict[str, Any] = {
    "string": "placeholder",
    "env_var_name": "PLACEHOLDER",
    "boolean": False,
    "integer": 1,
    "steps": [],
}


@dataclass(frozen=True)
class Size:
    where: str
    size: int


def run_commands(orb: Mapping[str, Any]) -> Iterator[Size]:
    """Every ``run`` command of the packed orb's commands and jobs (inside ``when``/``unless`` too), as
    CircleCI receives it; ``step 2.1`` is the first step of the block that is step 2."""
    for kind in ("commands", "jobs"):
        for name, body in (orb.get(kind) or {}).items():
            yield from _commands_in((body or {}).get("steps") or [], f"{kind}/{name} step ")


def _commands_in(steps: Any, where: str) -> Iterator[Size]:
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict) or len(step) != 1:
            continue
        [(name, body)] = step.items()
        if name in ("when", "unless") and isinstance(body, dict):
            yield from _commands_in(body.get("steps"), f"{where}{index + 1}.")
        elif name == "run":
            command = body.get("command") if isinstance(body, dict) else body
            if isinstance(command, str):
                text = command.replace("\\<<", "<<")
                yield Size(f"{where}{index + 1}", len(text.encode("utf-8")))


def job_expansions(orb: Mapping[str, Any]) -> Iterator[Size]:
    """Each orb job compiled on its own (defaults, placeholders for required parameters)."""
    for name, body in (orb.get("jobs") or {}).items():
        arguments = {
            parameter: _PLACEHOLDERS.get(str(spec.get("type")), "placeholder")
            if spec.get("type") != "enum"
            else spec["enum"][0]
            for parameter, spec in ((body or {}).get("parameters") or {}).items()
            if "default" not in spec
        }
        config = {
            "version": 2.1,
            "orbs": {ORB_ALIAS: "circleback/circleback@local"},
            "workflows": {"expansion": {"jobs": [{f"{ORB_ALIAS}/{name}": {"name": name, **arguments}}]}},
        }
        yield Size(f"jobs/{name}", len(compiled_config(config, orb).encode("utf-8")))


def fan_out_config(orb: Mapping[str, Any], downstreams: int) -> dict[str, Any]:
    """A's config fanning out to ``downstreams`` projects: one trigger, hold and check each, as the
    orb's ``fan_out_to_two_projects`` example wires two."""
    usage = copy.deepcopy(orb["examples"][FAN_OUT_EXAMPLE]["usage"])
    [(workflow, body)] = usage["workflows"].items()
    entries = body["jobs"]
    trigger, hold, check = (next(iter(entries[i].items())) for i in (0, 2, 4))
    jobs: list[Any] = []
    for index in range(downstreams):
        suffix = f"project-{index:02d}"
        jobs.append(
            {
                trigger[0]: {
                    **trigger[1],
                    "name": f"trigger-{suffix}",
                    "project_slug": f"gh/acme/{suffix}",
                    "hold_job": f"wait-for-{suffix}",
                    "pipeline_id_file": suffix,
                }
            }
        )
        jobs.append({f"wait-for-{suffix}": {**hold[1], "requires": [f"trigger-{suffix}"]}})
        jobs.append(
            {
                check[0]: {
                    **check[1],
                    "name": f"check-{suffix}",
                    "pipeline_id_file": suffix,
                    "outputs_dir": f"{suffix}-outputs",
                    "requires": [f"wait-for-{suffix}"],
                }
            }
        )
    usage["workflows"] = {workflow: {"jobs": jobs}}
    return dict(usage)


def compiled_config(config: Mapping[str, Any], orb: Mapping[str, Any]) -> str:
    """``config`` (importing the orb as ``circleback``) compiled by the runner, as YAML."""
    with tempfile.TemporaryDirectory(prefix="cb-footprint-") as scratch:
        path = Path(scratch) / "config.yml"
        path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
        project = load_project(path, {ORB_ALIAS: dict(orb)})
    values = Values(
        pipeline_values(
            pipeline_id=str(uuid.UUID(int=0)), number=1, project_slug="gh/acme/project-a", branch="main", tag=None
        ),
        {},
    )
    plan = plan_pipeline(project, values, branch="main", tag=None)
    return dump_compiled(plan)


def compiled_size(config: Mapping[str, Any], orb: Mapping[str, Any]) -> int:
    return len(compiled_config(config, orb).encode("utf-8"))


def dump_compiled(plan: PipelinePlan) -> str:
    """The plan as a compiled config: ``jobs`` (one per workflow job that runs steps) and ``workflows``."""
    jobs: dict[str, Any] = {}
    workflows: dict[str, Any] = {"version": 2}
    for workflow in plan.workflows:
        entries: list[Any] = []
        for job in workflow.jobs:
            invocation: dict[str, Any] = {}
            if job.requires:
                invocation["requires"] = [name for name, _ in job.requires]
            if job.contexts:
                invocation["context"] = list(job.contexts)
            if job.job is None:
                invocation["type"] = "approval"
            else:
                jobs[job.name] = _job(job.job)
            entries.append({job.name: invocation} if invocation else job.name)
        workflows[workflow.name] = {"jobs": entries}
    return yaml.dump(
        {"version": 2, "jobs": jobs, "workflows": workflows},
        Dumper=_LiteralDumper,
        sort_keys=False,
        width=1 << 30,
        allow_unicode=True,
    )


def _job(job: CompiledJob) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if job.image == "machine":
        body["machine"] = True
    elif job.image == "macos":
        body["macos"] = {}
    elif job.image:
        body["docker"] = [{"image": job.image}]
    if job.environment:
        body["environment"] = dict(job.environment)
    if job.shell:
        body["shell"] = job.shell
    body["working_directory"] = job.working_directory
    body["steps"] = [_step(step) for step in job.steps]
    return body


def _step(step: Step) -> dict[str, Any]:
    if isinstance(step, RunStep):
        run: dict[str, Any] = {"name": step.name, "command": step.command}
        if step.environment:
            run["environment"] = dict(step.environment)
        for key, value, default in (
            ("shell", step.shell, None),
            ("working_directory", step.working_directory, None),
            ("background", step.background, False),
            ("no_output_timeout", step.no_output_timeout, 600.0),
            ("when", step.when, "on_success"),
        ):
            if value != default:
                run[key] = value
        return {"run": run}
    if isinstance(step, CheckoutStep):
        return {"checkout": {"path": step.path} if step.path else {}}
    if isinstance(step, PersistStep):
        return {"persist_to_workspace": {"root": step.root, "paths": list(step.paths)}}
    if isinstance(step, AttachStep):
        return {"attach_workspace": {"at": step.at}}
    if isinstance(step, ArtifactsStep):
        artifacts = {"path": step.path}
        if step.destination:
            artifacts["destination"] = step.destination
        return {"store_artifacts": artifacts}
    if isinstance(step, TestResultsStep):
        return {"store_test_results": {"path": step.path}}
    assert isinstance(step, CacheStep)
    return {f"{step.action}_cache": {"keys": list(step.keys)}}


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, as a compiled config shows commands."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_text)


def budget_problems(orb: Mapping[str, Any]) -> list[str]:
    """Every command over :data:`COMMAND_BUDGET` and every job over :data:`JOB_BUDGET`."""
    problems = [
        f"{size.where}: the run command is {size.size} bytes (at most {COMMAND_BUDGET}, 64 KiB)"
        for size in run_commands(orb)
        if size.size > COMMAND_BUDGET
    ]
    problems.extend(
        f"{size.where}: the job compiles to {size.size} bytes (at most {JOB_BUDGET}, 80 KB)"
        for size in job_expansions(orb)
        if size.size > JOB_BUDGET
    )
    return problems
