"""The circleback as one picture: a self-contained HTML page of A's workflow and B's pipeline on one time axis.

A's check writes it (``cb-helper status --html FILE``, stored by the orb as the artifact
:data:`REPORT_ARTIFACT`) and a rehearsal writes it for every pipeline of the run (``cb-helper rehearse
--report FILE``). The page carries no scripts and loads nothing: CircleCI serves artifacts as static files,
and the page must read the same offline, at a laptop's width and on paper.

Both writers describe what happened as one plain document (dicts, lists, strings and numbers; see
:func:`render_page`), and :func:`render_page` lays it out with the Jinja2 template ``templates/report.html.j2``,
autoescaped: every name, message and value from B is untrusted text, and none of it is ever markup.
Jinja2 is imported only when a page is written, so ``cb-helper --version`` stays fast.

The document::

    title, subtitle           the page's heading
    verdict                   {"status": word, "text": one line}
    release                   {"reason": word, "text": line} or None: why A's hold was released
    deadline                  RFC 3339 time or None: the record's deadline
    origin                    what time 0 of the axis is (a time, or "the start of the rehearsal")
    now                       seconds: the end of the axis for what still runs
    lanes                     [{"title", "project", "number", "role" ("A", "B" or ""), "url", "status",
                                "rows": [{"workflow", "job", "kind" ("build", "approval" or "workflow"),
                                          "status", "start", "stop", "url", "note", "anchor"}]}]
    markers                   [{"at": seconds, "label": text}]: A's trigger, the circle-back, A's check
    failed_jobs               [{"project", "workflow", "job", "status", "url", "excerpt"}]
    failed_tests              [{"project", "job", "name", "classname", "file", "message", "url"}]
    outputs                   [{"project", "status", "values": {key: text}, "error"}]
    logs                      [{"anchor", "title", "status", "steps": [{"name", "status", "output"}]}]
    notes                     [text]

Times (``start``, ``stop``, ``at``) are seconds from the origin; ``None`` where a job never ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.times import format_time, parse_time
from cb_helper.api.vocabulary import JOB_FAILED
from cb_helper.pattern.status import Verdict, job_url, pipeline_url

if TYPE_CHECKING:
    from cb_helper.pattern.record import Handoff
    from cb_helper.pattern.release import Release
    from cb_helper.pattern.report_back import Delivery

#: Where the orb's check_status stores the page among A's artifacts.
REPORT_ARTIFACT = "circleback/report.html"
TEMPLATE = "report.html.j2"
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Status words and the colour class they take on the page (words are always printed too).
_TONE = {
    "success": "good",
    "circled_back": "idle",
    "failed": "bad",
    "failing": "bad",
    "error": "bad",
    "errored": "bad",
    "infrastructure_fail": "bad",
    "timedout": "bad",
    "unauthorized": "bad",
    "timeout": "bad",
    "deadline_passed": "bad",
    "canceled": "warn",
    "not_run": "warn",
    "never_started": "warn",
    "swept_finished": "warn",
    "stuck": "warn",
    "on_hold": "hold",
    "running": "busy",
    "queued": "busy",
    "blocked": "idle",
    "pending": "busy",
}


def render_page(page: Mapping[str, Any]) -> str:
    """The HTML of ``page`` (the document described above), every value escaped."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["duration"] = duration
    environment.filters["tone"] = tone
    environment.filters["value"] = _value_text
    return environment.get_template(TEMPLATE).render(layout(page))


def write_page(path: Path, page: Mapping[str, Any]) -> Path:
    """Render ``page`` into ``path`` (its directory is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(page), encoding="utf-8")
    return path


def tone(status: object) -> str:
    return _TONE.get(str(status), "idle")


def duration(seconds: object) -> str:
    """``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 4 min``; an empty string without a number."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return ""
    value = max(0.0, float(seconds))
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, float) else str(value)


def layout(page: Mapping[str, Any]) -> dict[str, Any]:
    """The page with each row's and marker's place on the axis, in percent of its width."""
    data = dict(page)
    now = _number(page.get("now")) or 0.0
    times = [now]
    for lane in page.get("lanes") or []:
        for row in lane.get("rows") or []:
            times.extend(t for t in (_number(row.get("start")), _number(row.get("stop"))) if t is not None)
    times.extend(t for t in (_number(m.get("at")) for m in page.get("markers") or []) if t is not None)
    span = max(*times, 1e-6)
    lanes = []
    for lane in page.get("lanes") or []:
        rows = []
        for row in lane.get("rows") or []:
            start, stop = _number(row.get("start")), _number(row.get("stop"))
            placed = {"workflow": "", "kind": "build", "status": "", "note": "", "anchor": None, "url": None, **row}
            if start is None:
                placed.update(left=None, width=None, seconds=None, open=False)
            else:
                end = stop if stop is not None else now
                placed.update(
                    left=round(start / span * 100, 3),
                    width=round(max(end - start, 0.0) / span * 100, 3),
                    seconds=max(end - start, 0.0),
                    open=stop is None,
                )
            rows.append(placed)
        lanes.append({"url": None, "status": "", **lane, "rows": rows})
    markers = [
        {**marker, "left": round((_number(marker.get("at")) or 0.0) / span * 100, 3)}
        for marker in sorted(page.get("markers") or [], key=lambda m: _number(m.get("at")) or 0.0)
    ]
    ticks = [
        {"left": round(fraction * 100, 3), "label": duration(span * fraction)} for fraction in (0, 0.25, 0.5, 0.75, 1)
    ]
    for key, default in (
        ("subtitle", ""),
        ("release", None),
        ("deadline", None),
        ("origin", ""),
        ("failed_jobs", []),
        ("failed_tests", []),
        ("outputs", []),
        ("logs", []),
        ("notes", []),
    ):
        data.setdefault(key, default)
    data.update(lanes=lanes, markers=markers, ticks=ticks, span=span)
    return data


def _number(value: object) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def anchor(*parts: object) -> str:
    """An id for an element of the page, from names (only letters, digits and dashes)."""
    return "-".join(re.sub(r"[^A-Za-z0-9]+", "-", str(part)).strip("-").lower() for part in parts) or "x"


# --- A's check: the page from the API ------------------------------------------------------------------


def status_page(
    client: CircleCIClient,
    verdict: Verdict,
    *,
    handoff: Optional[Handoff],
    release: Optional[Release],
    delivery: Optional[Delivery],
    moment: datetime,
) -> dict[str, Any]:
    """The page A's check writes: A's workflow (from the handoff's record) and B's pipeline, as the API shows them.

    Reads A's workflow's jobs, and the jobs of B's current workflows not read for the verdict yet.
    """
    stamps: list[datetime] = [moment]
    a_jobs: list[dict[str, Any]] = []
    if handoff is not None:
        a_jobs = list(client.paginate(f"/workflow/{handoff.record.workflow_id}/job"))
    for workflow in verdict.current:
        if workflow.jobs is None:
            workflow.jobs = list(client.paginate(f"/workflow/{workflow.id}/job"))
    b_created = parse_time(verdict.created_at)
    for job in [*a_jobs, *(j for w in verdict.current for j in w.jobs or [])]:
        stamps.extend(t for t in (parse_time(job.get("started_at")), parse_time(job.get("stopped_at"))) if t)
    if b_created is not None:
        stamps.append(b_created)
    origin = min(stamps)

    def at(value: object) -> Optional[float]:
        moment_of = parse_time(value) if isinstance(value, str) else None
        return None if moment_of is None else (moment_of - origin).total_seconds()

    receipt = release.receipt if release is not None else None
    circled = at(receipt.get("written_at")) if isinstance(receipt, dict) else None  # just before approving
    lanes: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    check_start: Optional[float] = None
    if handoff is not None:
        record = handoff.record
        hold = next((j for j in a_jobs if j.get("name") == record.hold and j.get("type") == "approval"), None)
        rows = []
        for job in a_jobs:
            row = _api_row(client.host, record.project, record.pipeline_number, record.workflow_id, job, at)
            if hold is not None and job is not hold and hold.get("id") in (job.get("dependencies") or []):
                check_start = row["start"] if check_start is None else check_start
            if job is hold:
                row["start"] = row["start"] if row["start"] is not None else _stopped(a_jobs, job, at)
                if row["stop"] is None and job.get("status") == "success":
                    row["stop"] = circled
                if receipt is not None and job.get("status") == "success" and row["stop"] is not None:
                    circled = row["stop"]  # the approval itself
                row["note"] = "waiting for the circle-back; an approval job bills nothing"
            rows.append(row)
        lanes.append(
            {
                "title": f"A: {record.project} #{record.pipeline_number}",
                "project": record.project,
                "number": record.pipeline_number,
                "role": "A",
                "url": pipeline_url(client.host, record.project, record.pipeline_number),
                "status": _lane_status(a_jobs),
                "rows": rows,
            }
        )
    if b_created is not None:
        markers.append({"at": at(verdict.created_at), "label": "A triggered B: B's pipeline created"})
    if circled is not None:
        markers.append({"at": circled, "label": "B circled back: A's hold approved"})
    if check_start is not None:
        markers.append({"at": check_start, "label": "A's check started"})
    b_rows = []
    for workflow in verdict.workflows:
        jobs = workflow.jobs or []
        if not jobs:
            b_rows.append(
                {"workflow": workflow.name, "job": f"workflow {workflow.name}", "kind": "workflow",
                 "status": workflow.status, "start": None, "stop": at(workflow.stopped_at), "url": workflow.url,
                 "note": "superseded by a rerun" if workflow.superseded else ""}
            )  # fmt: skip
        for job in jobs:
            row = _api_row(client.host, verdict.project_slug, verdict.number, workflow.id, job, at)
            row["workflow"] = workflow.name
            if workflow.superseded:
                row["note"] = "superseded by a rerun"
            b_rows.append(row)
    project_b = str(verdict.project_slug or (handoff.record.downstream if handoff else "the downstream"))
    lanes.append(
        {
            "title": f"B: {project_b}" + (f" #{verdict.number}" if verdict.number is not None else ""),
            "project": project_b,
            "number": verdict.number,
            "role": "B",
            "url": pipeline_url(client.host, verdict.project_slug, verdict.number),
            "status": verdict.conclusion,
            "rows": b_rows,
        }
    )
    failed_jobs = [
        {"project": project_b, "workflow": w.name, "job": name, "status": "", "url": url, "excerpt": None}
        for w in verdict.current
        for name, url in zip(w.failed_jobs, [*w.failed_job_urls, *([None] * len(w.failed_jobs))])
    ]
    for entry in failed_jobs:  # "unit-tests (failed)" -> the name and the status word
        name, _, status = str(entry["job"]).rpartition(" (")
        if name and status.endswith(")"):
            entry["job"], entry["status"] = name, status[:-1]
    failed_tests = []
    outputs = []
    if delivery is not None and delivery.findings is not None:
        failed_tests = [
            {"project": project_b, "job": job.name, "name": test.name, "classname": test.classname,
             "file": test.file, "message": test.message, "url": job.url}
            for job, test in delivery.findings.failures
        ]  # fmt: skip
    if delivery is not None and delivery.outputs is not None:
        outputs.append(
            {
                "project": project_b,
                "status": delivery.outputs.status,
                "values": {key: _value_text(value) for key, value in delivery.outputs.values.items()},
                "error": delivery.outputs.error,
            }
        )
    notes = [f"errored: {error}" for error in verdict.errors]
    verdict_text = f"{project_b} #{verdict.number}: {verdict.conclusion}" if verdict.number else project_b
    return {
        "title": f"circleback: {project_b} {verdict.conclusion}",
        "subtitle": f"A's check of {verdict_text}, written {format_time(moment)}",
        "verdict": {"status": verdict.conclusion, "text": release.text if release is not None else verdict_text},
        "release": {"reason": release.reason, "text": release.text} if release is not None else None,
        "deadline": format_time(handoff.record.deadline) if handoff is not None else None,
        "origin": format_time(origin),
        "now": (moment - origin).total_seconds(),
        "lanes": lanes,
        "markers": markers,
        "failed_jobs": failed_jobs,
        "failed_tests": failed_tests,
        "outputs": outputs,
        "logs": [],
        "notes": notes,
    }


def _api_row(
    host: str, project: Optional[str], number: Optional[int], workflow_id: str, job: dict[str, Any], at: Any
) -> dict[str, Any]:
    kind = "approval" if job.get("type") == "approval" else "build"
    return {
        "workflow": "",
        "job": str(job.get("name")),
        "kind": kind,
        "status": str(job.get("status")),
        "start": at(job.get("started_at")),
        "stop": at(job.get("stopped_at")),
        "url": job_url(host, project, number, workflow_id, job.get("job_number")) if kind == "build" else None,
        "note": "",
    }


def _stopped(jobs: list[dict[str, Any]], job: dict[str, Any], at: Any) -> Optional[float]:
    """When the last job ``job`` requires stopped: when an approval job without a start time went on hold."""
    ids = set(job.get("dependencies") or [])
    ends = [at(j.get("stopped_at")) for j in jobs if j.get("id") in ids]
    known = [end for end in ends if end is not None]
    return max(known) if known else None


def _lane_status(jobs: Iterable[dict[str, Any]]) -> str:
    statuses = {str(j.get("status")) for j in jobs}
    if statuses & JOB_FAILED:
        return "failed"
    for word in ("running", "on_hold", "queued", "blocked", "canceled", "not_run"):
        if word in statuses:
            return word
    return "success" if statuses else "pending"
