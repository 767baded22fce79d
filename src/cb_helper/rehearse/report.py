"""Render a rehearsal for people: a timeline line per event and a summary per pipeline."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Callable, Optional

import click

from cb_helper.rehearse.timeline import Event, JobResult, PipelineResult, RehearsalResult

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


def _cut(line: str, width: Optional[int]) -> str:
    """A line of output as it was written (indentation kept), cut to ``width`` on a terminal only."""
    text = line.rstrip().expandtabs(8)
    return text if width is None or len(text) <= width else text[: max(width - 3, 0)] + "..."


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


#: The narrowest column of project names in the timeline.
WHERE_COLUMN = 14


def _where(project: str, number: Optional[int]) -> str:
    name = project.rsplit("/", 1)[-1]
    return f"{name} #{number}" if number is not None else name


def where_column(projects: Iterable[str], numbers: int = 99) -> int:
    """The width of the project column for these projects (pipeline numbers up to ``numbers``)."""
    return max([WHERE_COLUMN, *(len(_where(project, numbers)) for project in projects)])


def event_line(event: Event, *, color: bool = False, width: Optional[int] = None, column: int = WHERE_COLUMN) -> str:
    """One timeline line: time, project (its repository name) and pipeline number, what happened.

    ``width`` clips the line (a terminal, see :func:`terminal_width`); ``None`` keeps it whole. ``column`` is the
    width of the project column (see :func:`where_column`), so that the lines of long project names align.
    """
    where = _where(event.project, event.pipeline_number)
    text, status = describe(event)
    head = f"{event.at:6.2f}s  {where:<{column}} "
    return head + _styled(_clip(text, _less(width, len(head))), status, color)


def timeline_lines(
    result: RehearsalResult,
    *,
    steps: bool = False,
    color: bool = False,
    width: Optional[int] = None,
    events: Optional[Sequence[Event]] = None,
) -> list[str]:
    """The timeline (or only ``events`` of it), one line per event, its project column as wide as needed."""
    chosen = result.timeline if events is None else events
    column = where_column(
        [*(p.project for p in result.pipelines), *(e.project for e in chosen)],
        max([99, *(p.number for p in result.pipelines)]),
    )
    return [
        event_line(event, color=color, width=width, column=column)
        for event in sorted(chosen, key=lambda e: e.at)
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
                    lines.extend(f"        | {_cut(line, _less(width, 10))}" for line in tail)
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


# --- step output, whole ------------------------------------------------------------------------------------------


def ran_jobs(result: RehearsalResult) -> list[tuple[PipelineResult, str, JobResult]]:
    """Every build job that ran, with its pipeline and workflow name, in the order the jobs started."""
    found = [
        (pipeline, workflow.name, job)
        for pipeline in result.pipelines
        for workflow in pipeline.workflows
        for job in workflow.jobs
        if job.type == "build" and job.steps
    ]
    return sorted(found, key=lambda item: item[2].started if item[2].started is not None else float("inf"))


def job_title(pipeline: PipelineResult, workflow: str, job: JobResult) -> str:
    number = f" job #{job.number}" if job.number is not None else ""
    return f"{pipeline.project} #{pipeline.number} {workflow}/{job.name}{number}: {job.status}"


def job_log(job: JobResult) -> list[str]:
    """A job's steps and their output in plain whole lines: never clipped, never styled."""
    lines: list[str] = []
    for step in job.steps:
        code = f", exit {step.exit_code}" if step.exit_code is not None else ""
        lines.append(f"--- {step.name} [{step.status}{code}]")
        lines.extend(step.output.rstrip("\n").splitlines() if step.output.strip() else [])
    return lines


def log_lines(result: RehearsalResult, names: Sequence[str] = ()) -> list[str]:
    """The step output of every job that ran (or of the jobs named), each under a line naming it.

    A name matches a job's name, or ``workflow/job``; a name that matches no job is :class:`KeyError`.
    """
    jobs = ran_jobs(result)
    wanted = set(names)
    unknown = wanted - {job.name for _, _, job in jobs} - {f"{workflow}/{job.name}" for _, workflow, job in jobs}
    if unknown:
        ran = ", ".join(sorted({job.name for _, _, job in jobs})) or "none"
        raise KeyError(f"no job named {', '.join(sorted(unknown))} ran (jobs that ran: {ran})")
    lines: list[str] = []
    for pipeline, workflow, job in jobs:
        if wanted and job.name not in wanted and f"{workflow}/{job.name}" not in wanted:
            continue
        lines.append(f"=== {job_title(pipeline, workflow, job)}")
        lines.extend(job_log(job))
    return lines


# --- the HTML page of a rehearsal -------------------------------------------------------------------------------


def page_data(result: RehearsalResult, started: Optional[str] = None, workdir: Optional[Path] = None) -> dict[str, Any]:
    """The rehearsal as the document :func:`cb_helper.pattern.report_html.render_page` draws: every pipeline.

    ``started`` is the id of the pipeline the rehearsal started (its verdict heads the page); ``workdir`` is the
    rehearsal's work directory, where the outputs B's circle-back stored are found.
    """
    first = next((p for p in result.pipelines if p.id == started), result.pipelines[0] if result.pipelines else None)
    verdict = pipeline_status(first) if first is not None else "no workflows"
    if result.outcome != "settled":
        verdict_text = f"the rehearsal is {result.outcome}: {'; '.join(result.waiting) or 'nothing waits'}"
    else:
        verdict_text = f"{first.project} #{first.number}: {verdict}" if first is not None else "no pipeline ran"
    lanes: list[dict[str, Any]] = []
    failed_jobs: list[dict[str, Any]] = []
    failed_tests: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for pipeline in result.pipelines:
        rows = []
        for workflow in pipeline.workflows:
            for job in workflow.jobs:
                anchor = _anchor(pipeline.project, pipeline.number, workflow.id[:8], job.name)
                note = ""
                if job.type == "approval":
                    note = "an approval hold: waiting bills nothing"
                rows.append(
                    {"workflow": workflow.name, "job": job.name, "kind": job.type, "status": job.status,
                     "start": job.started, "stop": job.stopped, "url": None, "note": note,
                     "anchor": anchor if job.steps else None}
                )  # fmt: skip
                if job.steps:
                    logs.append(
                        {"anchor": anchor, "title": job_title(pipeline, workflow.name, job), "status": job.status,
                         "steps": [{"name": s.name, "status": s.status, "output": s.output} for s in job.steps]}
                    )  # fmt: skip
                if job.status in ("failed", "infrastructure_fail", "timedout"):
                    excerpt = "\n".join(
                        line
                        for step in job.failed_steps
                        for line in [f"{step.name}:", *step.output.rstrip().splitlines()[-12:]]
                    )
                    failed_jobs.append(
                        {"project": pipeline.project, "workflow": workflow.name, "job": job.name,
                         "status": job.status, "url": f"#{anchor}", "excerpt": excerpt or None}
                    )  # fmt: skip
                failed_tests.extend(
                    {"project": pipeline.project, "job": job.name, "name": test.name, "classname": test.classname,
                     "file": test.file, "message": test.message or "", "url": f"#{anchor}"}
                    for test in job.failed_tests
                )  # fmt: skip
        role = "" if len(result.pipelines) < 2 else ("A" if pipeline is first else "B")
        title = f"{role + ': ' if role else ''}{pipeline.project} #{pipeline.number}"
        lanes.append(
            {"title": title, "project": pipeline.project, "number": pipeline.number, "role": role, "url": None,
             "status": pipeline_status(pipeline), "rows": rows}
        )  # fmt: skip
        for kind, message in pipeline.errors:
            failed_jobs.append(
                {"project": pipeline.project, "workflow": "", "job": f"pipeline #{pipeline.number}",
                 "status": "errored", "url": None, "excerpt": f"{kind} error: {message}"}
            )  # fmt: skip
    markers = [
        {"at": event.at, "label": label} for event in result.timeline for label in [_moment(event, first)] if label
    ]
    return {
        "title": f"circleback rehearsal: {verdict}",
        "subtitle": f"{len(result.pipelines)} pipeline(s) rehearsed on the embedded simulator, "
        f"{result.elapsed:.1f} s, outcome {result.outcome}",
        "verdict": {"status": verdict if result.outcome == "settled" else result.outcome, "text": verdict_text},
        "release": None,
        "deadline": None,
        "origin": "the start of the rehearsal",
        "now": result.elapsed,
        "lanes": lanes,
        "markers": markers,
        "failed_jobs": failed_jobs,
        "failed_tests": failed_tests,
        "outputs": _outputs_sent(result, workdir),
        "logs": logs,
        "notes": [f"waiting: {name}" for name in result.waiting],
    }


def _moment(event: Event, first: Optional[PipelineResult]) -> str:
    """The label of a moment of the circleback the page marks on the axis, or an empty string."""
    where = _where(event.project, event.pipeline_number)
    if event.kind == "pipeline_created" and first is not None and event.project != first.project:
        return f"{where} created (triggered through the API)"
    if event.kind == "hold_started":
        return f"{where}: {event.job} on hold"
    if event.kind == "hold_approved":
        return f"{where}: {event.job} approved through the API (the circle-back)"
    if event.kind in ("workflow_finished", "workflow_canceled"):
        return f"{where}: workflow {event.workflow} {event.detail}"
    return ""


def _outputs_sent(result: RehearsalResult, workdir: Optional[Path]) -> list[dict[str, Any]]:
    """The values each circle-back stored as circleback/outputs.json, read from the rehearsal's artifacts."""
    import json

    if workdir is None:
        return []
    sent = []
    for pipeline in result.pipelines:
        for workflow in pipeline.workflows:
            for job in workflow.jobs:
                if job.number is None:
                    continue
                file = workdir / "artifacts" / Path(*pipeline.project.split("/")) / str(job.number) / "circleback"
                try:
                    values = json.loads((file / "outputs.json").read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(values, dict):
                    sent.append(
                        {"project": f"{pipeline.project} #{pipeline.number} ({job.name})", "status": "valid",
                         "values": {str(k): v for k, v in values.items()}, "error": None}
                    )  # fmt: skip
    return sent


def _anchor(*parts: object) -> str:
    import re

    return "log-" + "-".join(re.sub(r"[^A-Za-z0-9]+", "-", str(part)).strip("-").lower() for part in parts)
