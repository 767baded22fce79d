"""The circle-back's receipt: what B proved and did, written before A is released.

The orb's circle-back proves the record in one step (``approve --prove-only --receipt``), stores the receipt as the
artifact :data:`~cb_helper.pattern.record.RECEIPT_ARTIFACT`, then approves from it (``approve --from-receipt``), so A's
check finds the receipt among B's artifacts once it is released and can tell that B circled back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import BadInput
from cb_helper.api.times import format_time, now
from cb_helper.api.vocabulary import is_uuid
from cb_helper.pattern.approve import ApprovalResult, approve_job
from cb_helper.pattern.record import RECORD_VERSION, Record

log = logging.getLogger("cb_helper")


def write_receipt(
    path: Path,
    result: Optional[ApprovalResult],
    record: Optional[Record],
    downstream_pipeline_id: Optional[str],
    outputs: Optional[dict[str, Any]] = None,
) -> None:
    """What this circle-back proved and did, for the next step and (stored as an artifact) for A's check.

    ``outputs`` (see :mod:`cb_helper.pattern.outputs`) travels in the receipt, so A reads B's values with its
    verdict; the values are also written beside it as ``outputs.json`` (stored as ``circleback/outputs.json``).
    """
    data: dict[str, Any] = {"v": RECORD_VERSION, "written_at": format_time(now())}
    if outputs is not None:
        data["outputs"] = outputs
    if result is None or record is None:
        data["outcome"] = "not_triggered"
    else:
        data.update(result.as_dict())
        data["upstream"] = record.as_dict()
        data["downstream_pipeline_id"] = downstream_pipeline_id
        data["approval_request_id"] = result.job.get("approval_request_id") or result.job.get("id")
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if outputs is not None:
        sibling = path.parent / "outputs.json"
        sibling.write_text(json.dumps(outputs.get("values") or {}, indent=2) + "\n", encoding="utf-8")


def read_receipt(path: str) -> dict[str, Any]:
    """A receipt written by :func:`write_receipt`, or :class:`BadInput` naming what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(
            f"--from-receipt {path!r} cannot be read ({exc.strerror}); the step that proves the record "
            "(approve --prove-only) did not write it, so nothing is approved"
        ) from None
    except ValueError:
        raise BadInput(f"--from-receipt {path!r} is not JSON; nothing approved") from None
    if not isinstance(data, dict) or data.get("v") != RECORD_VERSION or not isinstance(data.get("outcome"), str):
        raise BadInput(f"--from-receipt {path!r} is not a circle-back receipt; nothing approved")
    if data["outcome"] == "proven":
        for key in ("workflow_id", "approval_request_id"):
            if not is_uuid(data.get(key)):
                raise BadInput(f"--from-receipt {path!r}: {key} {data.get(key)!r} is not a UUID; nothing approved")
    return data


def approve_receipt(client: CircleCIClient, receipt: dict[str, Any]) -> ApprovalResult:
    """Approve the hold a ``proven`` receipt names (this job proved it in an earlier step)."""
    workflow = {
        "id": receipt.get("workflow_id"),
        "name": receipt.get("workflow_name"),
        "pipeline_id": receipt.get("pipeline_id"),
        "project_slug": receipt.get("project_slug"),
    }
    job = {
        "id": receipt.get("job_id"),
        "name": receipt.get("job_name"),
        "approval_request_id": receipt.get("approval_request_id"),
    }
    outcome = receipt.get("outcome")
    if outcome != "proven":
        if outcome == "upstream_stopped":
            log.warning("the hold is gone, the upstream stopped waiting (hold %s); nothing approved", job["name"])
        elif outcome == "already_approved":
            log.info("job %s in workflow %s was already approved", job["name"], workflow["id"])
        return ApprovalResult(workflow, job, str(outcome))
    return approve_job(client, workflow, job)
