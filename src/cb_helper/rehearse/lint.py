"""Wiring mistakes in circleback configs, found before anything runs.

Each project's config is loaded and its jobs compiled as a rehearsal would (orbs expanded, parameters bound), so a
trigger, a circle-back or a check is recognised whatever it is called and however deep in commands it sits: by the
orb steps it compiles to. Every mistake is a :class:`Mistake` with the config line it is about and how to fix it:

* a hold that a trigger's record names but that does not require the trigger directly (B could not prove its
  record and no sweep would find the hold), or that is missing or not an approval job;
* a check that does not require the hold it reads;
* a B that does not declare the record parameter, or does not pass it whole to its circle-back;
* a circle-back that does not require every other job of its workflow with ``terminal`` (a failed job would skip
  it, and A would wait for its deadline);
* a B workflow that can run without a circle-back;
* ``pipeline.trigger_source`` (its support ended on CircleCI cloud on 2026-08-01);
* the legacy handoff without ``allowed_projects``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from cb_helper.api.vocabulary import REQUIRES_STATUSES
from cb_helper.rehearse.compiler import Values, compile_job
from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.logic import evaluate
from cb_helper.rehearse.plan import RunStep
from cb_helper.rehearse.project import OrbSource, ProjectConfig, load_project
from cb_helper.rehearse.templating import substitute
from cb_helper.rehearse.workflows import _requires, pipeline_values
from cb_helper.rehearse.yamlio import _Loader

#: What a string pipeline parameter is bound to while linting, so that passing it whole can be told apart.
_MARK = "\u2063circleback-lint:{}\u2063"
_MARKED = re.compile("\u2063circleback-lint:([^\u2063]*)\u2063")
_PARAMETER_USE = re.compile(r"pipeline\.parameters\.([A-Za-z0-9_-]+)")
_TRIGGER_SOURCE = re.compile(r"pipeline\.trigger_source\b")
_INVOCATION_KEYS = frozenset({"requires", "context", "filters", "type", "name", "pre-steps", "post-steps"})
_TERMINAL = "terminal"


@dataclass(frozen=True)
class Mistake:
    """One wiring mistake: where it is, what is wrong, and how to fix it."""

    file: str
    line: int
    what: str
    fix: str
    kind: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}; {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "kind": self.kind, "what": self.what, "fix": self.fix}


@dataclass
class _Job:
    name: str
    line: int
    approval: bool
    requires: dict[str, frozenset[str]]
    steps: list[RunStep] = field(default_factory=list)

    def env(self, marker: str) -> Optional[dict[str, str]]:
        """The environment of the first run step that sets ``marker`` (an orb step's parameter variable)."""
        for step in self.steps:
            env = dict(step.environment)
            if marker in env:
                return env
        return None


@dataclass
class _Workflow:
    name: str
    line: int
    jobs: dict[str, _Job]
    runs_with_record: bool


@dataclass
class _Config:
    slug: str
    path: Path
    project: Optional[ProjectConfig]
    workflows: list[_Workflow] = field(default_factory=list)


def lint(projects: Mapping[str, Path], orbs: Mapping[str, OrbSource]) -> list[Mistake]:
    """Every wiring mistake in the configs of ``projects`` (slug -> config file), in file and line order."""
    mistakes: list[Mistake] = []
    configs = [_read(slug, path, orbs, mistakes) for slug, path in projects.items()]
    declared = {c.slug.lower(): c for c in configs}
    for config in configs:
        for workflow in config.workflows:
            mistakes.extend(_triggers(config, workflow, declared))
            mistakes.extend(_checks(config, workflow))
            mistakes.extend(_circle_backs(config, workflow))
        mistakes.extend(_missing_circle_backs(config))
    unique = {(m.file, m.line, m.what): m for m in mistakes}
    return sorted(unique.values(), key=lambda m: (m.file, m.line, m.what))


# --- reading a config ------------------------------------------------------------------------------------------


def _read(slug: str, path: Path, orbs: Mapping[str, OrbSource], mistakes: list[Mistake]) -> _Config:
    file = str(path)
    text = path.read_text(encoding="utf-8")
    lines = _Lines(text)
    for number, line in enumerate(text.splitlines(), start=1):
        if _TRIGGER_SOURCE.search(line):
            mistakes.append(
                Mistake(
                    file,
                    number,
                    "pipeline.trigger_source is no longer supported on CircleCI cloud "
                    "(its support ended on 2026-08-01)",
                    "use pipeline.trigger.type (a schedule is 'schedule', an API trigger 'api')",
                    "trigger-source",
                )
            )
    try:
        project = load_project(path, orbs)
    except ConfigError as exc:
        mistakes.append(Mistake(file, 1, f"the config does not load: {exc}", "fix it first", "config"))
        return _Config(slug, path, None)
    declared = project.parameters
    for number, line in enumerate(text.splitlines(), start=1):
        for name in _PARAMETER_USE.findall(line):
            if name not in declared:
                mistakes.append(
                    Mistake(
                        file,
                        number,
                        f"pipeline parameter {name!r} is used but not declared",
                        f'declare it: parameters: {{{name}: {{type: string, default: ""}}}}',
                        "record-parameter",
                    )
                )
    bound: dict[str, Any] = {}
    for name, declaration in declared.items():
        bound[name] = _MARK.format(name) if declaration.type == "string" else declaration.default
    for name in _PARAMETER_USE.findall(text):
        bound.setdefault(name, _MARK.format(name))
    values = Values(
        pipeline_values(
            pipeline_id=str(uuid.UUID(int=0)), number=1, project_slug=slug, branch="main", tag=None, trigger_type="api"
        ),
        bound,
    )
    config = _Config(slug, path, project)
    for name, definition in project.workflows.items():
        if not isinstance(definition, dict):
            continue
        workflow_line = lines.at("workflows", name)
        runs = _runs_with_record(definition, project, values)
        jobs: dict[str, _Job] = {}
        try:
            expanded = substitute(definition, values.scope(project.namespace))
        except ConfigError as exc:
            if _TRIGGER_SOURCE.search(str(exc)):
                continue  # reported at its own line above, with its fix
            mistakes.append(
                Mistake(file, workflow_line, f"workflow {name!r} does not compile: {exc}", "fix it", "config")
            )
            continue
        for index, entry in enumerate(expanded.get("jobs") or []):
            job = _job(entry, lines.at("workflows", name, "jobs", index), project, values, file, mistakes)
            if job is not None:
                jobs[job.name] = job
        config.workflows.append(_Workflow(str(name), workflow_line, jobs, runs))
    return config


def _runs_with_record(definition: Mapping[str, Any], project: ProjectConfig, values: Values) -> bool:
    """Whether the workflow runs in a pipeline triggered through the API with a record (its when/unless)."""
    try:
        gates = substitute(
            {k: v for k, v in definition.items() if k in ("when", "unless")}, values.scope(project.namespace)
        )
        if "when" in gates and not evaluate(gates["when"]):
            return False
        if "unless" in gates and evaluate(gates["unless"]):
            return False
    except ConfigError:
        return True
    return not definition.get("triggers")


def _job(
    entry: Any, line: int, project: ProjectConfig, values: Values, file: str, mistakes: list[Mistake]
) -> Optional[_Job]:
    arguments: Any = {}
    if isinstance(entry, str):
        reference = entry
    elif isinstance(entry, dict) and len(entry) == 1:
        [(reference, arguments)] = entry.items()
        arguments = arguments or {}
    else:
        return None
    if not isinstance(arguments, dict):
        return None
    name = str(arguments.get("name", reference))
    try:
        requires = dict(_requires(arguments.get("requires")))
    except ConfigError as exc:
        mistakes.append(Mistake(file, line, f"job {name!r}: {exc}", "fix its requires", "config"))
        requires = {}
    job = _Job(name, line, arguments.get("type") == "approval", requires)
    if job.approval:
        return job
    try:
        compiled = compile_job(
            project.namespace,
            str(reference),
            {k: v for k, v in arguments.items() if k not in _INVOCATION_KEYS},
            values,
            pre_steps=arguments.get("pre-steps"),
            post_steps=arguments.get("post-steps"),
        )
    except ConfigError as exc:
        mistakes.append(Mistake(file, line, f"job {name!r} does not compile: {exc}", "fix the job", "config"))
        return job
    job.steps = [step for step in compiled.steps if isinstance(step, RunStep)]
    return job


class _Lines:
    """Line numbers (1-based) of the nodes of a YAML document, by path of keys and list indexes."""

    def __init__(self, text: str) -> None:
        try:
            self.root: Optional[yaml.Node] = yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError:
            self.root = None

    def at(self, *path: Any) -> int:
        node, line = self.root, 1
        for key in path:
            if isinstance(node, yaml.MappingNode):
                found = next(((k, v) for k, v in node.value if k.value == str(key)), None)
                if found is None:
                    return line
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                return line
        return line


# --- the checks ------------------------------------------------------------------------------------------------


def _triggers(config: _Config, workflow: _Workflow, configs: Mapping[str, _Config]) -> list[Mistake]:
    found = []
    file = str(config.path)
    for job in workflow.jobs.values():
        env = job.env("CB_PARAM_HOLD_JOB")
        if env is None:
            continue
        if env.get("CB_PARAM_HANDOFF", "record") == "legacy":
            continue
        hold_name = env.get("CB_PARAM_HOLD_JOB", "")
        hold = workflow.jobs.get(hold_name)
        if hold is None or not hold.approval:
            what = "is not a job of" if hold is None else "is not an approval job in"
            found.append(
                Mistake(
                    file,
                    job.line if hold is None else hold.line,
                    f"the hold {hold_name!r} that trigger {job.name!r} names {what} workflow {workflow.name!r}",
                    f"add '- {hold_name}: {{type: approval, requires: [{job.name}]}}' or set hold_job to the "
                    "approval job that follows the trigger",
                    "hold",
                )
            )
        elif job.name not in hold.requires:
            found.append(
                Mistake(
                    file,
                    hold.line,
                    f"the hold {hold_name!r} does not require trigger {job.name!r} directly, so B could not prove "
                    "its record and no sweep would find the hold (the trigger refuses it)",
                    f"add {job.name} to its requires (requires: [{', '.join([*hold.requires, job.name])}])",
                    "hold",
                )
            )
        target = configs.get(env.get("CB_PARAM_PROJECT_SLUG", "").lower())
        parameter = env.get("CB_PARAM_RECORD_PARAMETER", "circleback")
        if target is not None and target.project is not None and parameter not in target.project.parameters:
            found.append(
                Mistake(
                    str(target.path),
                    _Lines(target.path.read_text(encoding="utf-8")).at("parameters"),
                    f"B does not declare the record parameter {parameter!r} that {config.slug}'s trigger "
                    f"{job.name!r} sends (CircleCI refuses a pipeline given an undeclared parameter)",
                    f'declare it: parameters: {{{parameter}: {{type: string, default: ""}}}}',
                    "record-parameter",
                )
            )
    return found


def _holds(workflow: _Workflow) -> dict[str, str]:
    """hold name -> the trigger that names it."""
    holds = {}
    for job in workflow.jobs.values():
        env = job.env("CB_PARAM_HOLD_JOB")
        if env is not None and env.get("CB_PARAM_HANDOFF", "record") == "record":
            holds[env.get("CB_PARAM_HOLD_JOB", "")] = job.name
    return holds


def _checks(config: _Config, workflow: _Workflow) -> list[Mistake]:
    holds = _holds(workflow)
    if not holds:
        return []
    found = []
    for job in workflow.jobs.values():
        if job.env("CB_PARAM_TEST_RESULTS_DIR") is None or job.env("CB_PARAM_HOLD_JOB") is not None:
            continue
        if not any(name in holds for name in job.requires):
            wanted = " or ".join(sorted(holds))
            found.append(
                Mistake(
                    str(config.path),
                    job.line,
                    f"check {job.name!r} does not require the hold ({wanted}), so it may read B before B circled back",
                    f"add the hold to its requires (requires: [{sorted(holds)[0]}])",
                    "check",
                )
            )
    return found


def _circle_back(job: _Job) -> Optional[dict[str, str]]:
    """The environment of a job's prove step (the circle-back), or ``None``."""
    env = job.env("CB_PARAM_RECEIPT_DIR")
    return env if env is not None and "CB_PARAM_HOLD_JOB" not in env else None


def _circle_backs(config: _Config, workflow: _Workflow) -> list[Mistake]:
    found = []
    file = str(config.path)
    for job in workflow.jobs.values():
        env = _circle_back(job)
        if env is None:
            continue
        upstream = env.get("CB_PARAM_UPSTREAM", "")
        legacy = bool(env.get("CB_PARAM_WORKFLOW_ID") or env.get("CB_PARAM_PIPELINE_ID"))
        marks = _MARKED.findall(upstream)
        if legacy and not upstream:
            if not env.get("CB_PARAM_ALLOWED_PROJECTS", "").strip():
                found.append(
                    Mistake(
                        file,
                        job.line,
                        f"circle-back {job.name!r} uses the legacy handoff without allowed_projects (its ids cannot "
                        "be proven; the orb refuses it)",
                        "set allowed_projects to the upstream project(s), or pass the record: "
                        "upstream: << pipeline.parameters.circleback >>",
                        "legacy",
                    )
                )
        elif not marks:
            found.append(
                Mistake(
                    file,
                    job.line,
                    f"circle-back {job.name!r} is not passed the record, so it never approves A's hold",
                    'declare parameters: {circleback: {type: string, default: ""}} and pass '
                    "upstream: << pipeline.parameters.circleback >>",
                    "record-parameter",
                )
            )
        elif upstream != _MARK.format(marks[0]):
            found.append(
                Mistake(
                    file,
                    job.line,
                    f"circle-back {job.name!r} is passed the record parameter {marks[0]!r} inside other text, "
                    "not whole, so the record does not parse",
                    f"pass it whole: upstream: << pipeline.parameters.{marks[0]} >>",
                    "record-parameter",
                )
            )
        found.extend(_terminal(file, workflow, job, setup=bool(config.project and config.project.setup)))
    return found


#: What a setup config's circle-back must run after: the continued config circles back when the setup continues.
_SETUP_STOPS = frozenset({"failed", "canceled"})


def _terminal(file: str, workflow: _Workflow, circle_back: _Job, setup: bool = False) -> list[Mistake]:
    """The circle-back must run whatever the other jobs did: require each of them, with ``terminal``.

    In a setup config (``setup: true``) the continued config circles back once the setup continues the pipeline,
    so the setup workflow's circle-back need only run when a job failed or was canceled.
    """
    after = _descendants(workflow, circle_back.name)
    others = [j for j in workflow.jobs.values() if j.name != circle_back.name and j.name not in after]
    needed = _SETUP_STOPS if setup else REQUIRES_STATUSES
    missing = [
        j.name for j in others if j.name not in circle_back.requires or not needed <= circle_back.requires[j.name]
    ]
    if not missing:
        return []
    if setup:
        wanted = ", ".join(f"{name}: [failed, canceled]" for name in sorted({*circle_back.requires, *missing}))
        return [
            Mistake(
                file,
                circle_back.line,
                f"circle-back {circle_back.name!r} of a setup config does not require {', '.join(missing)} with "
                "failed and canceled, so a setup that stops without continuing would skip it and A would wait for "
                "its deadline",
                f"require every other job when it fails or is canceled (requires: [{wanted}])",
                "terminal",
            )
        ]
    wanted = ", ".join(f"{name}: {_TERMINAL}" for name in sorted({*circle_back.requires, *missing}))
    return [
        Mistake(
            file,
            circle_back.line,
            f"circle-back {circle_back.name!r} does not require {', '.join(missing)} with terminal, so a failed or "
            "canceled job would skip it and A would wait for its deadline",
            f"require every other job with terminal (requires: [{wanted}])",
            "terminal",
        )
    ]


def _descendants(workflow: _Workflow, name: str) -> set[str]:
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for job in workflow.jobs.values():
            if job.name not in found and any(r == name or r in found for r in job.requires):
                found.add(job.name)
                changed = True
    return found


def _missing_circle_backs(config: _Config) -> list[Mistake]:
    """In a B (a config with a circle-back), every workflow that runs when triggered with a record needs one."""
    if not any(_circle_back(j) is not None for w in config.workflows for j in w.jobs.values()):
        return []
    found = []
    for workflow in config.workflows:
        if not workflow.runs_with_record or any(_circle_back(j) is not None for j in workflow.jobs.values()):
            continue
        found.append(
            Mistake(
                str(config.path),
                workflow.line,
                f"workflow {workflow.name!r} runs when B is triggered with a record but has no circle-back, so A "
                "may wait for its deadline",
                "add circleback/circle_back requiring every other job with terminal, or a when that leaves it out "
                '(when: {equal: ["", << pipeline.parameters.circleback >>]})',
                "no-circle-back",
            )
        )
    return found


def lint_lines(mistakes: Sequence[Mistake]) -> list[str]:
    return [str(m) for m in mistakes]
