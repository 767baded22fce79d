"""Derived state: a workflow's status from its jobs, and which job transitions are allowed.

The derivation follows what CircleCI shows (``on_hold`` while an approval waits, ``failing`` while a
failed job's siblings still run, ...). The table is repeated in ``docs/simulator.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cb_helper.api.vocabulary import JOB_FAILED, JOB_PENDING, JOB_STATUSES, JOB_TERMINAL

_ACTIVE = frozenset({"running", "queued", "not_running"})


def workflow_status(job_statuses: Iterable[str], *, canceled: bool = False, errored: bool = False) -> str:
    """The status of a workflow whose jobs have ``job_statuses``.

    In order: an errored workflow is ``error``; while any job is pending it is ``failing`` (a job
    failed), ``running`` (a job is queued or running), ``on_hold`` (only approvals and the jobs
    behind them are waiting) or ``running`` (jobs merely blocked); once every job is terminal it
    is ``canceled`` (the workflow was canceled, or a job was canceled and none failed),
    ``unauthorized`` (only unauthorized failures), ``failed`` (any other failure),
    ``not_run`` (nothing ran) or ``success``.
    """
    statuses = list(job_statuses)
    if errored:
        return "error"
    failed = [s for s in statuses if s in JOB_FAILED]
    pending = [s for s in statuses if s in JOB_PENDING]
    if pending:
        if failed:
            return "failing"
        if any(s in _ACTIVE for s in pending):
            return "running"
        if "on_hold" in pending:
            return "on_hold"
        # Invented: a workflow with no jobs yet, or only blocked jobs, reads as running.
        return "running"
    if canceled:
        return "canceled"
    if not statuses:
        return "running"  # invented: no jobs added yet
    if failed:
        return "unauthorized" if all(s == "unauthorized" for s in failed) else "failed"
    if "canceled" in statuses:
        return "canceled"
    if all(s == "not_run" for s in statuses):
        return "not_run"
    return "success"


#: How far along a pending status is; a job may only move forward (or stay).
_STAGE = {"blocked": 0, "not_running": 1, "queued": 1, "on_hold": 1, "running": 2}

#: Statuses an approval job can take; it never queues or runs.
APPROVAL_STATUSES = frozenset({"blocked", "on_hold", "success", "canceled", "not_run", "unauthorized"})


def check_transition(job_type: str, current: str, new: str) -> None:
    """Raise ``ValueError`` if a ``job_type`` job cannot go from ``current`` to ``new``."""
    if new not in JOB_STATUSES:
        raise ValueError(f"job status {new!r} is not one of {', '.join(sorted(JOB_STATUSES))}")
    if current in JOB_TERMINAL:
        raise ValueError(f"job is already {current!r} (terminal); it cannot become {new!r}")
    if job_type == "approval" and new not in APPROVAL_STATUSES:
        raise ValueError(
            f"an approval job cannot become {new!r} (expected one of {', '.join(sorted(APPROVAL_STATUSES))})"
        )
    if job_type != "approval" and new == "on_hold":
        raise ValueError("only approval jobs can be on_hold")
    if new in _STAGE and _STAGE[new] < _STAGE.get(current, 0):
        raise ValueError(f"job cannot go back from {current!r} to {new!r}")
