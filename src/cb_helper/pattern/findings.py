"""What B's jobs found: their test results, B's failing tests as JUnit XML for A's Tests tab, and a short summary.

The test metadata of every job of B's current workflows is read (the tests endpoint, every page), up to
:data:`MAX_FAILURES` failing tests; past that the reading stops and the summary says there were more.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import NotFound
from cb_helper.pattern.status import Verdict, job_url

#: The most failing tests of B that are collected (for the JUnit file and JSON); reading stops there.
MAX_FAILURES = 1000
#: The most failing tests the summary prints (the rest are in A's Tests tab).
SCREEN_TESTS = 10
#: Test results that count as failing.
FAILING = frozenset({"failure", "failed", "error"})


@dataclass
class FailedTest:
    name: str
    classname: str
    file: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "classname": self.classname, "file": self.file, "message": self.message}


@dataclass
class JobTests:
    """One of B's jobs and its test results."""

    name: str
    number: int
    status: str
    url: str
    passed: int = 0
    failures: list[FailedTest] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_number": self.number,
            "status": self.status,
            "url": self.url,
            "passed": self.passed,
            "failed_tests": [t.as_dict() for t in self.failures],
        }


@dataclass
class Findings:
    project: str
    jobs: list[JobTests] = field(default_factory=list)
    capped: bool = False  # more failing tests than MAX_FAILURES: reading stopped

    @property
    def failures(self) -> list[tuple[JobTests, FailedTest]]:
        return [(job, test) for job in self.jobs for test in job.failures]

    @property
    def passed(self) -> int:
        return sum(job.passed for job in self.jobs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "project_slug": self.project,
            "passed": self.passed,
            "failed": len(self.failures),
            "capped": self.capped,
            "jobs": [job.as_dict() for job in self.jobs],
        }


def collect(client: CircleCIClient, verdict: Verdict) -> Findings:
    """The jobs of B's current workflows that ran, with their test results (failing ones up to the cap)."""
    project = str(verdict.project_slug or "")
    findings = Findings(project)
    for workflow in verdict.current:
        listed = workflow.jobs if workflow.jobs is not None else client.paginate(f"/workflow/{workflow.id}/job")
        for job in listed:
            number = job.get("job_number")
            if job.get("type") == "approval" or not isinstance(number, int):
                continue
            url = job_url(client.host, verdict.project_slug, verdict.number, workflow.id, number) or ""
            found = JobTests(str(job.get("name")), number, str(job.get("status")), url)
            findings.jobs.append(found)
            if findings.capped:
                continue
            try:
                for test in client.paginate(f"/project/{job.get('project_slug') or project}/{number}/tests"):
                    result = str(test.get("result"))
                    if result == "success":
                        found.passed += 1
                    elif result in FAILING:
                        if len(findings.failures) >= MAX_FAILURES:
                            findings.capped = True
                            break
                        found.failures.append(_failed(test))
            except NotFound:
                continue
    return findings


def _failed(test: dict[str, Any]) -> FailedTest:
    return FailedTest(
        name=str(test.get("name") or ""),
        classname=str(test.get("classname") or ""),
        file=str(test.get("file") or ""),
        message=str(test.get("message") or ""),
    )


def junit_xml(findings: Findings) -> str:
    """B's failing tests, one suite per job (named after B's project and job), each failure carrying B's message."""
    root = ET.Element("testsuites", {"name": findings.project, "failures": str(len(findings.failures))})
    for job in findings.jobs:
        if not job.failures:
            continue
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"{findings.project} {job.name}",
                "tests": str(len(job.failures)),
                "failures": str(len(job.failures)),
            },
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "job_url", "value": job.url})
        for test in job.failures:
            attributes = {"name": test.name, "classname": test.classname or test.file or job.name}
            if test.file:
                attributes["file"] = test.file
            case = ET.SubElement(suite, "testcase", attributes)
            failure = ET.SubElement(case, "failure", {"message": test.message})
            failure.text = (test.message + "\n\n" if test.message else "") + f"{findings.project} job: {job.url}"
    if findings.capped:
        root.append(
            ET.Comment(f" more failing tests than the cap of {MAX_FAILURES}; the rest are in {findings.project} ")
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def summary_lines(verdict: Verdict, findings: Findings, width: Optional[int] = None) -> list[str]:
    """One line when B passed; else B's first failing tests (name, file, first line of the message)."""
    name = findings.project.rsplit("/", 1)[-1] or "the downstream"
    if verdict.conclusion == "success":
        count = len(verdict.current)
        return [
            f"{name}: {count} workflow{'s' if count != 1 else ''} succeeded, "
            f"{findings.passed} test{'s' if findings.passed != 1 else ''} passed"
        ]
    failures = findings.failures
    if not failures:
        return [f"{name}: no failing tests reported by its jobs"] if verdict.conclusion == "failed" else []
    more = "at least " if findings.capped else ""
    shown = failures[:SCREEN_TESTS]
    counted = f"{more}{len(failures)} failing test{'s' if len(failures) != 1 else ''}"
    lines = [f"{name}: {counted}" + (f", the first {len(shown)}:" if len(shown) < len(failures) else ":")]
    for job, test in shown:
        where = test.file or test.classname
        head = f"  {job.name}: {test.name}" + (f" ({where})" if where else "")
        message = first_line(test.message)
        lines.append(fit(f"{head}: {message}" if message else head, width))
    if len(failures) > len(shown):
        lines.append(f"  ... and {len(failures) - len(shown)} more in this job's Tests tab")
    return lines


def first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def fit(line: str, width: Optional[int]) -> str:
    """On a terminal (``width`` given), cut a long line at a word boundary; in a CI log, never."""
    if width is None or len(line) <= width:
        return line
    cut = line[: width - 3].rsplit(" ", 1)[0]
    return cut + "..."
