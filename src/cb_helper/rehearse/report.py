"""Render a rehearsal for people: a timeline line per event and a summary per pipeline."""

from __future__ import annotations

import shutil
import sys
from typing import IO, Any, Callable, Optional

import click

from cb_helper.rehearse.timeline import Event, PipelineResult, RehearsalResult

_COLORS = {
    "success": "green",
    "failed": "red",
    "error": "red",
    "errored": "red",
    "canceled": "yellow",
    "not_run": "yellow",
    "on_hold": "yellow",
    "stuck": "yellow",
    "timeout": "red",
}


def terminal_width(stream: Optional[IO[Any]] = None) -> Optional[int]:
    """The width to clip lines to on a terminal (60 to 120 columns); ``None``, never clip, for logs and pipes."""
    target = stream if stream is not None else sys.stdout
    if not (hasattr(target, "isatty") and target.isatty()):
        return None
    return max(60, min(120, shutil.get_terminal_size((100, 24)).columns))


def _styled(text: str, status: str, color: bool) -> str:
    fg = _COLORS.get(status)
    return click.style(text, fg=fg) if color and fg else text


def _clip(text: str, width: Optional[int]) -> str:
    """``text`` on one line, clipped to ``width`` on a terminal; whole when ``width`` is ``None`` (a log)."""
    flat = " ".join(text.split())
    return flat if width is None or len(flat) <= width else flat[: max(width - 3, 0)] + "..."


def _less(width: Optional[int], by: int) -> Optional[int]:
    return None if width is None else width - by


def describe(event: Event) -> tuple[str, str]:
    """What an event says, and the status its colour follows."""
    kind, detail = event.kind, event.detail
    status = detail.split(" ", 1)[0] if detail else ""
    texts: dict[str, Callable[[], tuple[str, str]]] = {
        "pipeline_created": lambda: ("pipeline created", ""),
        "pipeline_errored": lambda: (f"pipeline errored: {detail}", "errored"),
        "pipeline_continued": lambda: ("pipeline continued by its setup workflow", ""),
        "workflow_created": lambda: (f"workflow {event.workflow} created, {detail}", ""),
        "workflow_skipped": lambda: (f"workflow {event.workflow} does not run (conditions or filters)", ""),
        "workflow_finished": lambda: (f"workflow {event.workflow}: {detail}", detail),
        "workflow_canceled": lambda: (f"workflow {event.workflow} {detail}", "canceled"),
        "workflow_rerun": lambda: (f"workflow {event.workflow} rerun", ""),
        "job_queued": lambda: (f"{event.job}: queued", ""),
        "job_started": lambda: (f"{event.job}: running ({detail})", ""),
        "job_finished": lambda: (f"{event.job}: {detail}", status),
        "job_not_run": lambda: (f"{event.job}: not run ({detail})", "not_run"),
        "hold_started": lambda: (f"{event.job}: on hold, waiting for approval (not billable)", "on_hold"),
        "hold_approved": lambda: (f"{event.job}: {detail}", "success"),
        "step_finished": lambda: (f"{event.job}: step {detail}", detail.rsplit(": ", 1)[-1]),
        "stuck": lambda: (f"stuck: {detail}", "stuck"),
    }
    return texts.get(kind, lambda: (f"{kind} {detail}", ""))()


def event_line(event: Event, *, color: bool = False, width: Optional[int] = None) -> str:
    """One timeline line: time, project (its repository name) and pipeline number, what happened.

    ``width`` clips the line (a terminal, see :func:`terminal_width`); ``None`` keeps it whole.
    """
    project = event.project.rsplit("/", 1)[-1]
    where = f"{project} #{event.pipeline_number}" if event.pipeline_number is not None else project
    text, status = describe(event)
    head = f"{event.at:6.2f}s  {where:<14} "
    return head + _styled(_clip(text, _less(width, len(head))), status, color)


def timeline_lines(
    result: RehearsalResult, *, steps: bool = False, color: bool = False, width: Optional[int] = None
) -> list[str]:
    return [
        event_line(event, color=color, width=width)
        for event in sorted(result.timeline, key=lambda e: e.at)
        if steps or event.kind != "step_finished"
    ]


def pipeline_status(pipeline: PipelineResult) -> str:
    """One word for a pipeline: errored, success, failed, canceled, running, on_hold, ... or no workflows."""
    if pipeline.state == "errored":
        return "errored"
    if not pipeline.workflows:
        return "no workflows"
    latest: dict[str, str] = {}
    for workflow in pipeline.workflows:
        latest[workflow.name] = workflow.status
    statuses = set(latest.values())
    for word in ("failed", "error", "failing", "canceled", "unauthorized", "running", "on_hold", "not_run"):
        if word in statuses:
            return word
    return "success"


def summary_lines(
    result: RehearsalResult, *, color: bool = False, output_lines: int = 12, width: Optional[int] = None
) -> list[str]:
    """Each pipeline's verdict, failed jobs with the end of their output, and billable waiting time.

    ``width`` clips long lines (a terminal); ``None`` keeps every line whole.
    """
    lines: list[str] = []
    for pipeline in result.pipelines:
        status = pipeline_status(pipeline)
        lines.append(_styled(f"{pipeline.project} #{pipeline.number}: {status}", status, color))
        for kind, message in pipeline.errors:
            lines.append(f"  {kind} error: {_clip(message, _less(width, 10))}")
        for workflow in pipeline.workflows:
            lines.append(f"  workflow {workflow.name}: {_styled(workflow.status, workflow.status, color)}")
            for job in workflow.jobs:
                if job.status in ("success", "blocked") and not job.tests:
                    continue
                lines.append(f"    {job.name}: {_styled(job.status, job.status, color)}")
                if job.tests:
                    failing = job.failed_tests
                    lines.append(f"      stored {len(job.tests)} test result(s), {len(failing)} failing")
                    for test in failing[:output_lines]:
                        message = (test.message or "").strip().split("\n", 1)[0]
                        lines.append(f"        {_clip(f'{test.classname} {test.name}: {message}', _less(width, 10))}")
                for step in job.failed_steps:
                    name = _clip(step.name, None if width is None else 60)
                    lines.append(f"      step {name!r} failed; its last lines:")
                    tail = [line for line in step.output.splitlines() if line.strip()][-output_lines:]
                    lines.extend(f"        | {_clip(line, _less(width, 10))}" for line in tail)
        held = pipeline.hold_seconds(result.elapsed)
        if held:
            billable = pipeline.billable_while_waiting(result.elapsed)
            lines.append(f"  on hold {held:.2f}s; billable while holding: {billable:.2f}s")
    if result.outcome != "settled":
        lines.append(
            _styled(
                f"rehearsal {result.outcome}: {'; '.join(result.waiting) or 'nothing waits'}", result.outcome, color
            )
        )
    return lines


def exit_status(pipeline: Optional[PipelineResult], outcome: str) -> int:
    """The rehearsal command's exit status, in cb-helper's vocabulary (0, 1, 4, 5)."""
    if pipeline is None:
        return 5
    status = pipeline_status(pipeline)
    if outcome != "settled" and status in ("running", "on_hold", "failing", "success"):
        return 4
    return {"success": 0, "errored": 5, "canceled": 5, "not_run": 5, "no workflows": 5}.get(status, 1)
