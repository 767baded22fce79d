"""Chains A -> B -> C: when B is canceled, so is what B's own handoffs name, down the chain.

B's trigger jobs store handoffs (``circleback/handoff.json``) as A's do. A sweep that cancels B reads them through
the API and cancels each C they name, then C's own, to :data:`MAX_DEPTH` levels. A handoff is a claim like any
artifact, so a C is canceled only when the handoff names B's very pipeline and project (as the API reports them),
and the C pipeline the API returns belongs to the project the record names, was triggered through the API and was
created while the job that stored the handoff ran (:func:`cb_helper.pattern.sweep_checks.created_by`). A C outside
the sweep's ``--cancel-project`` allow-list is left running, with what is below it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import CbError
from cb_helper.api.vocabulary import same_project
from cb_helper.pattern.cancel import cancel_pipeline
from cb_helper.pattern.proof import stored_handoff
from cb_helper.pattern.sweep_checks import created_by

log = logging.getLogger("cb_helper")

#: How many levels below B a sweep follows handoffs (A -> B -> C -> ... ).
MAX_DEPTH = 5


@dataclass(frozen=True)
class Link:
    """One pipeline further down the chain, and what canceling it did."""

    project: str
    pipeline_id: str
    depth: int  # 1: named by B's handoff, 2: by that pipeline's, ...
    canceled: int  # workflows canceled (0: it had already stopped)
    error: Optional[str] = None
    left: bool = False  # outside the --cancel-project allow-list: left running

    def describe(self) -> str:
        where = f"{self.project} pipeline {self.pipeline_id} (level {self.depth} below B)"
        if self.left:
            return f"left {where} running: its project is not in --cancel-project"
        if self.error:
            return f"could not cancel {where}: {self.error}"
        if self.canceled:
            return f"canceled {self.canceled} workflow(s) of {where}"
        return f"{where} was already stopped"


def downstream_of(client: CircleCIClient, pipeline_id: str, project: str) -> list[tuple[str, str]]:
    """(project, pipeline id) of every pipeline the handoffs stored by ``pipeline_id``'s jobs name, proven.

    ``project`` is the project of ``pipeline_id`` as the API reported it (the caller has read the pipeline).
    """
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for workflow in client.paginate(f"/pipeline/{pipeline_id}/workflow"):
        for job in client.paginate(f"/workflow/{workflow['id']}/job"):
            if job.get("type") != "build" or not isinstance(job.get("job_number"), int):
                continue
            handoff = stored_handoff(client, {**job, "project_slug": job.get("project_slug") or project})
            if handoff is None:
                continue
            record = handoff.record
            if record.pipeline_id != pipeline_id or not same_project(record.project, project):
                log.warning("ignoring a handoff in %s job %s that names another upstream", project, job.get("name"))
                continue
            found.setdefault(handoff.downstream_pipeline_id, (record.downstream, job))
    proven = []
    for child, (claimed, job) in found.items():
        pipeline = client.get(f"/pipeline/{child}")
        slug = pipeline.get("project_slug")
        if not isinstance(slug, str) or not same_project(slug, claimed):
            log.warning("ignoring pipeline %s: it belongs to %s, not to %s as the handoff says", child, slug, claimed)
            continue
        reason = created_by(job, pipeline)
        if reason is not None:
            log.warning("ignoring pipeline %s named by %s job %s: %s", child, project, job.get("name"), reason)
            continue
        proven.append((slug, child))
    return proven


def cancel_chain(
    client: CircleCIClient,
    pipeline_id: str,
    project: str,
    may_cancel: Callable[[str], bool] = lambda _project: True,
    max_depth: int = MAX_DEPTH,
) -> list[Link]:
    """Cancel every pipeline below ``pipeline_id`` that handoffs name, breadth first, to ``max_depth`` levels.

    ``project`` is ``pipeline_id``'s project as the API reported it. A pipeline whose project ``may_cancel``
    refuses is left running, and so is everything below it.
    """
    links: list[Link] = []
    seen = {pipeline_id}
    level = [(pipeline_id, project)]
    for depth in range(1, max_depth + 1):
        below: list[tuple[str, str]] = []
        for parent, parent_project in level:
            try:
                children = downstream_of(client, parent, parent_project)
            except CbError as exc:
                links.append(Link(parent_project, parent, depth, 0, f"reading its handoffs failed: {exc}"))
                continue
            for slug, child in children:
                if child in seen:
                    continue
                seen.add(child)
                if not may_cancel(slug):
                    links.append(Link(slug, child, depth, 0, left=True))
                    log.info("down the chain of %s: %s", pipeline_id, links[-1].describe())
                    continue
                try:
                    canceled = len(cancel_pipeline(client, child))
                except CbError as exc:
                    links.append(Link(slug, child, depth, 0, str(exc)))
                else:
                    links.append(Link(slug, child, depth, canceled))
                log.info("down the chain of %s: %s", pipeline_id, links[-1].describe())
                below.append((child, slug))
        if not below:
            break
        level = below
    return links


def describe_links(links: list[Link]) -> list[str]:
    return [link.describe() for link in links]
