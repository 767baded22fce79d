"""What the sweeper believes of a handoff: only what the API shows A's trigger really created.

A handoff is an artifact, and any job of A's workflow can store one: a job on a branch someone pushed to a swept
project can store a handoff naming any pipeline the sweeper's token reaches. So before the sweep cancels or
releases anything for a handoff, it checks, from the API and not from the handoff's text:

* the record names the very project, pipeline (id and number) and workflow being swept, and the hold being looked
  at (a handoff copied from another workflow or pipeline names those, not this one);
* B's pipeline exists, is in the record's downstream project, was triggered through the API (trigger type
  ``api``), and was created while the job that stored the handoff ran: after its ``started_at``, before its
  ``stopped_at``, as A's real trigger job creates it;
* B's project is one the sweep may cancel in (``--cancel-project``); this decides only whether B may be canceled.

:func:`verify` answers ``None`` when a handoff is proven, else the one-line reason the hold is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Union

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import NotFound
from cb_helper.api.times import parse_time
from cb_helper.api.vocabulary import same_project
from cb_helper.pattern.proof import handoffs_with_jobs
from cb_helper.pattern.record import Handoff

log = logging.getLogger("cb_helper")

#: The trigger type CircleCI gives a pipeline created through the API (``GET /pipeline/{id}``: ``trigger.type``).
API_TRIGGER = "api"


@dataclass(frozen=True)
class StoredHandoff:
    """A handoff and the job of A's workflow that stored it (as the API lists that job)."""

    job: dict[str, Any]
    handoff: Handoff


@dataclass(frozen=True)
class Proof:
    """A handoff checked against the API: ``reason`` is ``None`` when it is proven, else why it is not."""

    reason: Optional[str]
    #: B's pipeline as the API answered, when the handoff is proven (the sweep reads B's verdict from it).
    pipeline: Optional[dict[str, Any]] = None

    @property
    def proven(self) -> bool:
        return self.reason is None


def stored_for_hold(
    client: CircleCIClient, hold: dict[str, Any], jobs: Iterable[dict[str, Any]]
) -> list[StoredHandoff]:
    """The handoffs stored by the build jobs ``hold`` requires, naming this hold by name, each with its job."""
    return [StoredHandoff(job, handoff) for job, handoff in handoffs_with_jobs(client, hold, jobs)]


def verify(
    client: CircleCIClient, project: str, workflow: dict[str, Any], hold: dict[str, Any], stored: StoredHandoff
) -> Proof:
    """Whether A's trigger really created the B pipeline ``stored`` names, for this hold of this workflow.

    ``project`` is the project being swept; ``workflow`` and ``hold`` are as the API lists them. Reads B's
    pipeline (one request) only once the record matches what is being swept.
    """
    record = stored.handoff.record
    mismatch = _names_this_hold(project, workflow, hold, stored)
    if mismatch is not None:
        return Proof(mismatch)
    window = _ran(stored.job)
    if isinstance(window, str):  # known before B's pipeline is read
        return Proof(window)
    pipeline_id = stored.handoff.downstream_pipeline_id
    try:
        pipeline = client.get(f"/pipeline/{pipeline_id}")
    except NotFound:
        return Proof(f"B's pipeline {pipeline_id} does not exist or this token cannot read it")
    slug = str(pipeline.get("project_slug"))
    if not same_project(slug, record.downstream):
        return Proof(f"B's pipeline is in {slug}, not in the record's downstream project {record.downstream}")
    number = stored.handoff.downstream_pipeline_number
    if number is not None and pipeline.get("number") != number:
        return Proof(f"B's pipeline is #{pipeline.get('number')}, not #{number} as the handoff says")
    reason = created_by(stored.job, pipeline)
    if reason is not None:
        return Proof(reason)
    return Proof(None, pipeline)


def created_by(job: dict[str, Any], pipeline: dict[str, Any]) -> Optional[str]:
    """Why ``pipeline`` (as the API reads it) cannot have been triggered by ``job``, or ``None`` if it can.

    A trigger job creates its downstream pipeline through the API while it runs: the pipeline's trigger type is
    ``api`` and its ``created_at`` falls between the job's ``started_at`` and ``stopped_at``.
    """
    window = _ran(job)
    if isinstance(window, str):
        return window
    started, stopped = window
    trigger = pipeline.get("trigger")
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    if kind != API_TRIGGER:
        return f"B's pipeline was triggered by {kind or 'an unknown trigger'}, not through the API"
    created = parse_time(pipeline.get("created_at"))
    if created is None or not started <= created <= stopped:
        return (
            f"B's pipeline was created at {pipeline.get('created_at')}, not while {_job_name(job)} ran "
            f"({job.get('started_at')} to {job.get('stopped_at')})"
        )
    return None


def may_cancel(slug: str, cancel_projects: Sequence[str]) -> bool:
    """Whether ``slug`` (B's project, as the API reports it) is in the ``--cancel-project`` allow-list."""
    return any(same_project(slug, allowed) for allowed in cancel_projects)


def _names_this_hold(
    project: str, workflow: dict[str, Any], hold: dict[str, Any], stored: StoredHandoff
) -> Optional[str]:
    record = stored.handoff.record
    if not same_project(record.project, str(workflow.get("project_slug"))):
        return f"the record names project {record.project}, not {project}, the project being swept"
    if record.pipeline_id != workflow.get("pipeline_id") or record.pipeline_number != workflow.get("pipeline_number"):
        return (
            f"the record names pipeline #{record.pipeline_number} ({record.pipeline_id}), not this pipeline "
            f"#{workflow.get('pipeline_number')}: the handoff belongs to another pipeline"
        )
    if record.workflow_id != workflow.get("id"):
        return f"the record names workflow {record.workflow_id}, not this one: the handoff belongs to another workflow"
    if record.hold != hold.get("name"):
        return f"the record names the hold {record.hold!r}, not {hold.get('name')!r}"
    if str(stored.job.get("id")) not in {str(d) for d in hold.get("dependencies") or []}:
        return f"{_job_name(stored.job)} is not a job the hold requires"
    if stored.job.get("type") == "approval":
        return f"{_job_name(stored.job)} is an approval job, which stores no handoff"
    return None


def _ran(job: dict[str, Any]) -> Union[str, tuple[datetime, datetime]]:
    """``(started, stopped)`` of the job that stored the handoff, or why it has no such span."""
    started, stopped = parse_time(job.get("started_at")), parse_time(job.get("stopped_at"))
    if started is None or stopped is None:
        return f"{_job_name(job)} has no start and stop time, so no trigger of it can be proven"
    return started, stopped


def _job_name(job: dict[str, Any]) -> str:
    number = job.get("job_number")
    return f"the job {job.get('name')}" + (f" (#{number})" if number is not None else "")
