"""Proving a circleback record: the handoffs A's trigger jobs stored, read back through the API.

Anyone who may trigger B can pass B any record, and the token in B's context may approve holds that person could
not. So a record is believed only when a job that A's hold requires stored a handoff (an artifact at
:data:`~cb_helper.pattern.record.HANDOFF_ARTIFACT`) carrying that very record and naming B's own pipeline. The sweeper
uses the same reading to find holds that a record names, without A's workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import BadInput, NotFound
from cb_helper.pattern.record import HANDOFF_ARTIFACT, Handoff, parse_handoff

log = logging.getLogger("cb_helper")


def artifact_text(client: CircleCIClient, job: dict[str, Any], path: str) -> Optional[str]:
    """The text of the artifact a job stored at ``path``, or ``None`` (no such job number or artifact)."""
    slug, number = job.get("project_slug"), job.get("job_number")
    if not slug or not isinstance(number, int):
        return None
    try:
        for artifact in client.paginate(f"/project/{slug}/{number}/artifacts"):
            if artifact.get("path") == path and isinstance(artifact.get("url"), str):
                return client.download(artifact["url"]).decode("utf-8", errors="replace")
    except NotFound:
        return None
    return None


def stored_handoff(client: CircleCIClient, job: dict[str, Any]) -> Optional[Handoff]:
    """The handoff a job stored as an artifact, or ``None`` (no such artifact, or not a valid handoff)."""
    text = artifact_text(client, job, HANDOFF_ARTIFACT)
    if text is None:
        return None
    try:
        return parse_handoff(
            text, f"artifact {HANDOFF_ARTIFACT} of {job.get('project_slug')} job {job.get('job_number')}"
        )
    except BadInput as exc:
        log.warning("ignoring %s", exc)
        return None


def handoffs_for_hold(client: CircleCIClient, hold: dict[str, Any], jobs: Iterable[dict[str, Any]]) -> list[Handoff]:
    """The handoffs stored by the jobs ``hold`` requires (its ``dependencies``), naming this very hold."""
    return [handoff for _job, handoff in handoffs_with_jobs(client, hold, jobs)]


def handoffs_with_jobs(
    client: CircleCIClient, hold: dict[str, Any], jobs: Iterable[dict[str, Any]]
) -> list[tuple[dict[str, Any], Handoff]]:
    """Each build job ``hold`` requires that stored a handoff naming this very hold, with that handoff.

    A handoff naming another hold is about that hold, not this one (a person's gate that happens to require a
    trigger job), and is left out.
    """
    by_id = {str(job.get("id")): job for job in jobs}
    found = []
    for dependency in hold.get("dependencies") or []:
        job = by_id.get(str(dependency))
        if job is None or job.get("type") == "approval":
            continue
        handoff = stored_handoff(client, job)
        if handoff is not None and handoff.record.hold == hold.get("name"):
            found.append((job, handoff))
    return found
