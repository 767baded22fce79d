"""Reading a rehearsal: ``--logs``, ``--report``, ``--keep-workdir``, and a step found by its name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cb_helper.cli import main
from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.report import timeline_lines
from cb_helper.rehearse.timeline import Event, RehearsalResult
from tests.rehearse.helpers import write_project

CONFIG = """
version: 2.1
parameters:
  outcome: {type: integer, default: 0}
jobs:
  build:
    docker: [{image: cimg/base:current}]
    steps:
      - run:
          name: compile
          command: |
            printf 'compiling\\n    indented detail\\n'
            echo '<b>not markup</b>'
      - run:
          name: test
          command: |
            echo "tests ran"
            [ << pipeline.parameters.outcome >> = 0 ] || printf "Traceback:\\n    assert total == 10\\n"
            exit << pipeline.parameters.outcome >>
  deploy:
    docker: [{image: cimg/base:current}]
    steps:
      - run: {name: ship, command: echo "shipped"}
workflows:
  main:
    jobs:
      - build
      - deploy: {requires: [build]}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path, "app", CONFIG)
    return tmp_path


def _args(root: Path, *extra: str) -> list[str]:
    return ["rehearse", "--project", f"gh/acme/a-project-with-a-long-name={root / 'app'}", *extra]


def test_logs_print_every_jobs_step_output_in_whole_lines(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--logs")) == 0
    out = capsys.readouterr().out
    logs = out[out.index("=== ") :].splitlines()
    assert logs[0] == "=== gh/acme/a-project-with-a-long-name #1 main/build job #1: success"
    assert logs[1:6] == [
        "--- compile [success, exit 0]",
        "compiling",
        "    indented detail",
        "<b>not markup</b>",
        "--- test [success, exit 0]",
    ]
    assert "=== gh/acme/a-project-with-a-long-name #1 main/deploy job #2: success" in logs
    assert "shipped" in logs


def test_logs_of_one_job_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--logs", "main/deploy")) == 0
    out = capsys.readouterr().out
    assert "=== gh/acme/a-project-with-a-long-name #1 main/deploy job #2: success" in out
    assert "main/build" not in out
    assert "compiling" not in out


def test_logs_of_a_job_that_did_not_run_say_which_ran(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--logs", "lint")) == 0
    err = capsys.readouterr().err
    assert "--logs: no job named lint ran (jobs that ran: build, deploy)" in err


def test_the_timeline_aligns_long_project_names() -> None:
    events = [
        Event(0.5, "pipeline_created", "gh/acme/a-project-with-a-long-name", 1),
        Event(1.25, "job_started", "gh/acme/b", 12, "main", "build", "job #3"),
        Event(2.0, "stuck", "gh/acme/a-project-with-a-long-name", None, detail="a hold waits"),
    ]
    result = RehearsalResult("stuck", 2.0, [], events)
    lines = timeline_lines(result)
    assert lines == [
        "  0.50s  a-project-with-a-long-name #1  pipeline created",
        "  1.25s  b #12                          build: running (job #3)",
        "  2.00s  a-project-with-a-long-name     stuck: a hold waits",
    ]


def test_a_failed_steps_last_lines_keep_their_indentation(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--parameter", "outcome=1")) == 1
    out = capsys.readouterr().out
    assert "        | Traceback:\n        |     assert total == 10\n" in out


def test_keep_workdir_prints_the_path_and_json_carries_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--keep-workdir")) == 0
    out = capsys.readouterr().out
    [kept] = re.findall(r"^work directory kept: (\S+)$", out, re.MULTILINE)
    assert (Path(kept) / "jobs").is_dir()
    assert main(_args(project, "--keep-workdir", "--json")) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert Path(data["workdir"]).is_dir()
    assert data["workdir"] != kept
    assert f"work directory kept: {data['workdir']}" in captured.err


def test_report_writes_the_page_of_every_pipeline(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = project / "out" / "rehearsal.html"
    assert main(_args(project, "--parameter", "outcome=3", "--report", str(page))) == 1
    assert f"report written to {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert "<title>circleback rehearsal: failed</title>" in html
    assert ">build<" in html
    assert ">deploy<" in html
    assert ">not run<" in html  # deploy's status, in words
    assert "&lt;b&gt;not markup&lt;/b&gt;" in html  # step output, escaped
    assert "<b>" not in html
    assert "    indented detail" in html
    assert '<details id="log-gh-acme-a-project-with-a-long-name-1-' in html


def test_report_to_a_directory_is_refused_before_anything_runs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(project, "--report", str(project))) == 2
    err = capsys.readouterr().err
    assert f"Invalid value for '--report': File '{project}' is a directory" in err
    assert "running" not in err


def test_a_step_is_found_by_its_name(project: Path) -> None:
    with Rehearsal({"gh/acme/app": project / "app" / ".circleci" / "config.yml"}) as rehearsal:
        rehearsal.start("gh/acme/app", "main")
        result = rehearsal.run_until_settled(timeout=60)
    build = result.pipeline("gh/acme/app").job("build")
    assert build.step("compile").output.startswith("compiling\n")
    assert build.step("test").output == "tests ran\n"
    with pytest.raises(KeyError, match=r"job 'build' has no step 'lint' \(its steps: 'compile', 'test'\)"):
        build.step("lint")
