"""What a compiled config asks the runner to do: concrete steps, jobs and workflows (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

#: Run-time gating of a step: run after success (the default), always, or only after a failure.
WHEN_VALUES = ("on_success", "always", "on_fail")


@dataclass(frozen=True)
class RunStep:
    name: str
    command: str
    shell: Optional[str] = None
    environment: tuple[tuple[str, str], ...] = ()
    working_directory: Optional[str] = None
    background: bool = False
    no_output_timeout: float = 600.0
    when: str = "on_success"


@dataclass(frozen=True)
class CheckoutStep:
    path: Optional[str] = None
    name: str = "Checkout code"
    when: str = "on_success"


@dataclass(frozen=True)
class PersistStep:
    root: str
    paths: tuple[str, ...]
    name: str = "Persisting to workspace"
    when: str = "on_success"


@dataclass(frozen=True)
class AttachStep:
    at: str
    name: str = "Attaching workspace"
    when: str = "on_success"


@dataclass(frozen=True)
class ArtifactsStep:
    path: str
    destination: Optional[str] = None
    name: str = "Uploading artifacts"
    when: str = "always"


@dataclass(frozen=True)
class TestResultsStep:
    path: str
    name: str = "Uploading test results"
    when: str = "always"


@dataclass(frozen=True)
class CacheStep:
    """``save_cache``/``restore_cache``: a rehearsal keeps no caches, as on a project's very first run."""

    action: str  # "save" or "restore"
    keys: tuple[str, ...]
    name: str = ""
    when: str = "on_success"


Step = Union[RunStep, CheckoutStep, PersistStep, AttachStep, ArtifactsStep, TestResultsStep, CacheStep]


@dataclass(frozen=True)
class CompiledJob:
    """A job with every parameter, command and executor resolved."""

    definition: str
    steps: tuple[Step, ...]
    environment: tuple[tuple[str, str], ...] = ()
    working_directory: str = "~/project"
    shell: Optional[str] = None
    image: Optional[str] = None


@dataclass(frozen=True)
class JobPlan:
    """One job of a workflow: a build job (with its compiled steps) or an approval hold."""

    name: str
    requires: tuple[tuple[str, frozenset[str]], ...] = ()
    job: Optional[CompiledJob] = None
    contexts: tuple[str, ...] = ()

    @property
    def approval(self) -> bool:
        return self.job is None


@dataclass(frozen=True)
class WorkflowPlan:
    name: str
    jobs: tuple[JobPlan, ...]

    def job(self, name: str) -> JobPlan:
        for plan in self.jobs:
            if plan.name == name:
                return plan
        raise KeyError(name)


@dataclass(frozen=True)
class PipelinePlan:
    """Every workflow a pipeline runs (possibly none, when filters leave nothing)."""

    workflows: tuple[WorkflowPlan, ...]
    skipped: tuple[str, ...] = field(default=())
    #: The config is a setup config: these workflows are the pipeline's setup phase.
    setup: bool = False
