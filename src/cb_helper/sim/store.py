"""The simulator's storage: every table, the one lock, and the look-ups the state's parts share.

:class:`~cb_helper.sim.state.SimState` is built on this (with the workflow moves and job outputs
beside it); nothing here is public API.
"""

from __future__ import annotations

import copy
import threading
import uuid
from typing import Callable, Optional, TypeVar

from cb_helper.api.vocabulary import same_project, slug_key
from cb_helper.sim.effects import Effect
from cb_helper.sim.model import (
    Job,
    Pipeline,
    Project,
    RequestRecord,
    SimEvent,
    StoredArtifact,
    TestResult,
    User,
    Workflow,
    now,
)
from cb_helper.sim.paging import PageTokens

Listener = Callable[[SimEvent], None]
T = TypeVar("T")

#: The user pipelines created from Python (not through the API) are attributed to.
SYSTEM_USER_ID = "00000000-0000-4000-8000-000000000000"


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """Tables guarded by ``lock`` (re-entrant, so public methods may call each other)."""

    def __init__(self, page_size: int = 20) -> None:
        if page_size < 1:
            raise ValueError(f"page_size {page_size!r} is not a positive integer")
        self.page_size = page_size
        self.lock = threading.RLock()
        self.pages = PageTokens()
        self._users: dict[str, User] = {}  # by token
        self._projects: dict[str, Project] = {}  # by canonical slug
        self._pipelines: dict[str, Pipeline] = {}
        self._workflows: dict[str, Workflow] = {}
        self._jobs: dict[str, Job] = {}
        self._workflow_jobs: dict[str, list[str]] = {}
        self._pipeline_workflows: dict[str, list[str]] = {}
        self._artifacts: dict[tuple[str, int], list[StoredArtifact]] = {}
        #: Where artifact URLs point (the running server's base URL); ``None``: CircleCI's artifact host.
        self.artifact_origin: Optional[str] = None
        self._effects: list[Effect] = []
        self._tests: dict[tuple[str, int], list[TestResult]] = {}
        self._listeners: list[Listener] = []
        self._log: list[RequestRecord] = []
        self._seq = 0
        #: Continuation keys of pipelines in their setup phase, to the pipeline's id.
        self._continuations: dict[str, str] = {}

    def _emit(self, event: SimEvent) -> None:
        with self.lock:
            listeners = list(self._listeners)
        for fn in listeners:
            fn(event)

    def _effect(self, kind: str, workflow_id: str, job_id: Optional[str], actor: str) -> None:
        self._effects.append(Effect(kind, workflow_id, job_id, actor, now()))

    def _project(self, slug: str) -> Project:
        project = self._projects.get(slug_key(slug))
        if project is None:
            raise KeyError(f"project {slug!r} not found")
        return project

    @staticmethod
    def _get(table: dict[str, T], key: str, what: str) -> T:
        try:
            return table[key]
        except (KeyError, TypeError):
            raise KeyError(f"{what} {key!r} not found") from None

    def _default_actor_id(self) -> str:
        first = next(iter(self._users.values()), None)
        return first.id if first else SYSTEM_USER_ID

    def find_job_by_number(self, project_slug: str, job_number: int) -> Optional[Job]:
        """The job of the project with that number (a copy), if any."""
        with self.lock:
            for job in self._jobs.values():
                if job.job_number == job_number and same_project(job.project_slug, project_slug):
                    return copy.deepcopy(job)
            return None
