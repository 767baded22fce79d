"""Cancel what is still running in a pipeline."""

from __future__ import annotations

from typing import Any

from cb_helper.api.client import CircleCIClient
from cb_helper.api.vocabulary import WORKFLOW_TERMINAL


def cancel_pipeline(client: CircleCIClient, pipeline_id: str) -> list[dict[str, Any]]:
    """Cancel every workflow of the pipeline that is not terminal; return those it canceled."""
    canceled = []
    for workflow in list(client.paginate(f"/pipeline/{pipeline_id}/workflow")):
        if workflow.get("status") in WORKFLOW_TERMINAL:
            continue
        # Canceling twice is harmless, so a lost answer may be retried.
        client.post(f"/workflow/{workflow['id']}/cancel", retry_safe=True)
        canceled.append(workflow)
    return canceled
