"""Effective actions: the approvals and cancels that changed something, for tests of idempotency."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

#: The kinds of effect: an approval job went on_hold -> success; a workflow became canceled.
EFFECT_KINDS = ("approve", "cancel")


@dataclass(frozen=True)
class Effect:
    """An action that changed something: an approval that released a hold, a cancel that stopped a workflow."""

    kind: str  # one of EFFECT_KINDS
    workflow_id: str
    job_id: Optional[str]  # the approval job; None for a workflow cancel
    actor: str  # the id of the user who acted
    time: _dt.datetime


def select(
    effects: Iterable[Effect], kind: Optional[str], workflow_id: Optional[str], job_id: Optional[str]
) -> list[Effect]:
    """The effects matching every filter given (``None`` matches all)."""
    if kind is not None and kind not in EFFECT_KINDS:
        raise ValueError(f"effect kind {kind!r} is not one of {', '.join(EFFECT_KINDS)}")
    return [
        e
        for e in effects
        if (kind is None or e.kind == kind)
        and (workflow_id is None or e.workflow_id == workflow_id)
        and (job_id is None or e.job_id == job_id)
    ]
