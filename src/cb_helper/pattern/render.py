"""Output: human lines, JSON, and jq filtering. Data goes to stdout; the CLI sends diagnostics to stderr."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import zip_longest
from typing import Any

from cb_helper.api.errors import BadInput
from cb_helper.pattern.status import Verdict


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


def compile_jq(expression: str) -> Any:
    """Compile a jq program; a syntax error is a usage error (exit 2), raised before any API call."""
    try:
        import jq
    except ImportError:
        raise BadInput(
            f"--jq {expression!r} needs the jq Python package, which is not installed here "
            "(the orb's install_helper installs it with jq: true; or pip install jq)"
        ) from None

    try:
        return jq.compile(expression)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise BadInput(f"--jq {expression!r} is not a valid jq program ({first})") from None


def jq_lines(program: Any, value: Any) -> Iterator[str]:
    """Run a compiled jq program; strings print raw (like ``jq -r``), everything else as compact JSON."""
    try:
        results = program.input_value(value).all()
    except ValueError as exc:
        raise BadInput(f"the jq program failed on the data: {str(exc).splitlines()[0]}") from None
    for result in results:
        yield result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))


def verdict_lines(verdict: Verdict) -> Iterator[str]:
    number = f" #{verdict.number}" if verdict.number is not None else ""
    yield f"pipeline {verdict.pipeline_id}{number} ({verdict.project_slug}): {verdict.conclusion}"
    for error in verdict.errors:
        yield f"  error: {error}"
    if verdict.state != "errored" and not verdict.workflows:
        yield f"  no workflows yet (pipeline state {verdict.state})"
    for workflow in verdict.workflows:
        note = " (superseded by a rerun)" if workflow.superseded else ""
        yield f"  workflow {workflow.name}: {workflow.status}{note}  {workflow.url}"
        for job, url in zip_longest(workflow.failed_jobs, workflow.failed_job_urls[: len(workflow.failed_jobs)]):
            yield f"    failed job: {job}" + (f"  {url}" if url else "")
        for job in workflow.waiting_jobs:
            yield f"    waiting for approval: {job}"


def progress_line(verdict: Verdict) -> str:
    parts = [f"{w.name}={w.status}" for w in verdict.current] or [f"state={verdict.state}, no workflows yet"]
    return f"waiting for pipeline {verdict.pipeline_id}: " + ", ".join(parts)
