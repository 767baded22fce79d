"""The runner's file steps on their own: workspace layers, checkout copies, artifacts and JUnit results."""

from __future__ import annotations

from pathlib import Path

import pytest

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.execution import StepResult
from cb_helper.rehearse.files import TestCase, Workspace, artifact_files, checkout, junit_cases, resolve
from cb_helper.rehearse.timeline import JobResult


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_layers_attach_into_a_new_nested_directory_and_again_into_an_existing_one(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    write(tmp_path / "one" / "out" / "a.txt", "one")
    write(tmp_path / "two" / "out" / "a.txt", "two")
    write(tmp_path / "two" / "out" / "b.txt", "b")
    assert workspace.persist("build/one", tmp_path / "one", ["out/*.txt"]) == ["out/a.txt"]
    assert workspace.persist("two", tmp_path / "two", [str(tmp_path / "two" / "out")]) == ["out"]
    at = tmp_path / "job" / "deep" / "ws"
    assert workspace.attach(["build/one", "missing", "two"], at) == ["build/one", "two"]
    assert (at / "out" / "a.txt").read_text() == "two"
    assert workspace.attach(["two", "build/one"], at) == ["two", "build/one"]
    assert (at / "out" / "a.txt").read_text() == "one"
    assert sorted(p.name for p in (at / "out").iterdir()) == ["a.txt", "b.txt"]
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["build%2Fone", "two"]


def test_a_job_may_persist_into_its_layer_again(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    write(tmp_path / "out" / "dir" / "a.txt", "a")
    workspace.persist("job", tmp_path / "out", ["dir"])
    write(tmp_path / "out" / "dir" / "b.txt", "b")
    write(tmp_path / "out" / "dir" / "c.txt", "c")
    workspace.persist("job", tmp_path / "out", ["dir"])
    workspace.persist("job", tmp_path / "out", ["dir/c.txt"])
    assert workspace.attach(["job"], tmp_path / "at") == ["job"]
    assert sorted(p.name for p in (tmp_path / "at" / "dir").iterdir()) == ["a.txt", "b.txt", "c.txt"]


def test_persist_refuses_paths_outside_its_root_and_patterns_that_match_nothing(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(ConfigError) as outside:
        workspace.persist("job", root, ["/etc/passwd"])
    assert str(outside.value) == f"persist_to_workspace path '/etc/passwd' is not under root {str(root)!r}"
    for pattern in (".", "", "*.none"):
        with pytest.raises(FileNotFoundError) as nothing:
            workspace.persist("job", root, [pattern])
        assert str(nothing.value) == f"persist_to_workspace: {pattern!r} matched no files under {str(root)!r}"


def test_step_paths_resolve_against_home_and_working_directory(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    assert resolve("~", home=home, cwd=cwd) == home
    assert resolve("~/ws", home=home, cwd=cwd) == home / "ws"
    assert resolve("ws", home=home, cwd=cwd) == cwd / "ws"
    assert resolve("/abs/ws", home=home, cwd=cwd) == Path("/abs/ws")


def test_checkout_copies_the_project_without_tool_state(tmp_path: Path) -> None:
    source = tmp_path / "project"
    write(source / "run-tests.sh", "true")
    write(source / "src" / "x.py", "")
    write(source / ".venv" / "bin" / "python", "")
    write(source / "node_modules" / "m.js", "")
    target = tmp_path / "home" / "project"
    assert checkout(source, target) == 2
    assert checkout(source, target) == 2  # into a directory that exists
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == ["run-tests.sh", "src/x.py"]
    with pytest.raises(FileNotFoundError, match=f"project directory {str(tmp_path / 'nope')!r} does not exist"):
        checkout(tmp_path / "nope", target)


def test_artifact_paths_keep_the_destination_prefix(tmp_path: Path) -> None:
    report = write(tmp_path / "out" / "report.html", "")
    write(tmp_path / "out" / "sub" / "log.txt", "")
    assert artifact_files(report, "/reports/") == [("reports", report)]
    assert artifact_files(report, "/Xrays/") == [("Xrays", report)]
    assert artifact_files(report, "") == [("report.html", report)]
    assert [name for name, _ in artifact_files(tmp_path / "out", "/site/")] == ["site/report.html", "site/sub/log.txt"]
    assert [name for name, _ in artifact_files(tmp_path / "out", "")] == ["report.html", "sub/log.txt"]
    assert artifact_files(tmp_path / "missing", "x") == []


JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="s">
  <testcase name="passes" classname="a.B" file="a/b.py" time="0.25"/>
  <testcase name="fails" classname="a.B" time="x"><failure message="boom">trace</failure></testcase>
  <testcase name="errs" classname="a.C"><error>  broken  </error></testcase>
  <testcase name="skips" classname="a.C" time=""><skipped/></testcase>
  <testcase/>
</testsuite></testsuites>
"""


def test_junit_results_are_read_from_a_file_or_every_xml_under_a_directory(tmp_path: Path) -> None:
    report = write(tmp_path / "results" / "junit.xml", JUNIT)
    write(tmp_path / "results" / "broken.xml", "<testsuite")
    write(tmp_path / "results" / "notes.txt", "<testcase name='no'/>")
    expected = [
        TestCase("passes", "a.B", "success", "a/b.py", None, 0.25),
        TestCase("fails", "a.B", "failure", "", "boom", 0.0),
        TestCase("errs", "a.C", "failure", "", "broken", 0.0),
        TestCase("skips", "a.C", "skipped", "", None, 0.0),
        TestCase("", "", "success", "", None, 0.0),
    ]
    assert junit_cases(report) == expected
    assert junit_cases(tmp_path / "results") == expected
    assert junit_cases(tmp_path / "missing") == []


def test_a_jobs_output_is_every_step_that_ran_under_its_header() -> None:
    steps = [
        StepResult(0, "Checkout code", "checkout", "success", 0, "copied\n"),
        StepResult(1, "skipped one", "run", "skipped"),
        StepResult(2, "tests", "run", "failed", 1, "boom\n"),
    ]
    job = JobResult("unit", "id", "build", "failed", steps=steps)
    assert job.output() == "--- Checkout code [success]\ncopied\n--- tests [failed]\nboom\n"
    assert job.failed_steps == [steps[2]]
