"""``cb-helper rehearse`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cb_helper.api.errors import BadInput
from cb_helper.cli import main
from cb_helper.commands.rehearse import read_env_file
from tests.rehearse.helpers import write_project

CONFIG = """
version: 2.1
parameters:
  outcome: {type: integer, default: 0}
jobs:
  build:
    docker: [{image: cimg/base:current}]
    steps:
      - run: {name: report, command: 'echo "deploying to $TARGET"; exit << pipeline.parameters.outcome >>'}
workflows:
  main:
    jobs: [{build: {context: deploy}}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path, "app", CONFIG)
    (tmp_path / "deploy.env").write_text("# the deploy context\nexport TARGET='staging'\n", encoding="utf-8")
    return tmp_path


def _args(root: Path, *extra: str) -> list[str]:
    return [
        "rehearse",
        "--project",
        f"gh/acme/app={root / 'app'}",
        "--context",
        f"deploy={root / 'deploy.env'}",
        *extra,
    ]


def test_a_passing_pipeline_exits_0_with_a_timeline(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project)) == 0
    out = capsys.readouterr().out
    assert "app #1" in out
    assert "build: running (job #1)" in out
    assert "gh/acme/app #1: success" in out


def test_a_failing_pipeline_exits_1_and_shows_the_failed_step(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(project, "--parameter", "outcome=3")) == 1
    out = capsys.readouterr().out
    assert "gh/acme/app #1: failed" in out
    assert "step 'report' failed" in out
    assert "| deploying to ********" in out  # context values are masked, as on CircleCI


def test_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(project, "--json")) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["outcome"] == "settled"
    [pipeline] = data["pipelines"]
    assert pipeline["project"] == "gh/acme/app"
    assert pipeline["workflows"][0]["jobs"][0]["steps"][0]["output"] == "deploying to ********\n"
    assert "build: running" in captured.err


def test_a_hold_nobody_approves_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path, "app", "version: 2.1\nworkflows: {main: {jobs: [{hold: {type: approval}}]}}\n")
    assert main(["rehearse", "--project", f"gh/acme/app={tmp_path / 'app'}"]) == 4
    assert "rehearsal stuck: gh/acme/app #1 main/hold" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--project", "acme/app=app"], "project slug 'acme/app' is malformed"),
        (["--project", "gh/acme/app=missing.yml"], "'missing.yml' is not a file"),
        (["--orb", "circleback=nowhere.yml"], "--orb 'circleback=nowhere.yml'"),
        (["--start", "gh/acme/other"], "--start 'gh/acme/other' is not one of"),
        (["--parameter", "novalue"], "parameter 'novalue' is not KEY=VALUE"),
        (["--token-env", "BAD-NAME"], "--token-env 'BAD-NAME'"),
    ],
)
def test_bad_input_exits_2_before_anything_runs(
    project: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(_args(project, *extra)) == 2
    assert message in capsys.readouterr().err


def test_config_errors_exit_2_naming_them(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rehearse", "--project", f"gh/acme/app={project / 'app'}"]) == 2
    assert "context 'deploy' is not defined" in capsys.readouterr().err
    assert main(_args(project, "--parameter", "colour=blue")) == 2
    assert "Unexpected argument(s): colour" in capsys.readouterr().err


def test_env_files(tmp_path: Path) -> None:
    good = tmp_path / "good.env"
    good.write_text('A=1\n\n# comment\nexport B="two words"\nC=\n', encoding="utf-8")
    assert read_env_file(good) == {"A": "1", "B": "two words", "C": ""}
    bad = tmp_path / "bad.env"
    bad.write_text("A=1\nnot a line\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"bad\.env:2: 'not a line' is not NAME=VALUE"):
        read_env_file(bad)


def test_lines_are_never_clipped_when_not_on_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = "integration-" + "x" * 110
    said = "the-end-of-a-long-line-" + "y" * 120
    config = f"""
version: 2.1
jobs:
  {job}:
    docker: [{{image: cimg/base:current}}]
    steps:
      - run: {{name: say, command: 'echo {said}; exit 1'}}
workflows:
  main:
    jobs: [{job}]
"""
    write_project(tmp_path, "app", config)
    assert main(["rehearse", "--project", f"gh/acme/app={tmp_path / 'app'}"]) == 1
    out = capsys.readouterr().out
    assert f"{job}: failed" in out  # the timeline keeps the status at the end of a long line
    assert f"| {said}" in out
    assert "..." not in out


def test_the_installed_orb_is_used_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cb_helper.commands import rehearse as rehearse_cli

    missing = tmp_path / "none" / "circleback.yml"
    monkeypatch.setattr(rehearse_cli, "PACKAGED_ORB", missing)
    write_project(tmp_path, "app", "version: 2.1\norbs:\n  circleback: circleback/circleback@0.1\nworkflows: {}\n")
    args = ["rehearse", "--orb", "circleback", "--project", f"gh/acme/app={tmp_path / 'app'}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("cb-helper: error: --orb circleback: this installation carries no packed orb")
    assert len(err.strip().splitlines()) == 1
    shipped = tmp_path / "circleback.yml"
    shipped.write_text("version: 2.1\ndescription: shipped\ncommands:\n  hello:\n    steps: [{run: echo hi}]\n")
    monkeypatch.setattr(rehearse_cli, "PACKAGED_ORB", shipped)
    config = """
version: 2.1
orbs:
  circleback: circleback/circleback@0.1
jobs:
  build:
    docker: [{image: cimg/base:current}]
    steps: [circleback/hello]
workflows:
  main: {jobs: [build]}
"""
    write_project(tmp_path, "app", config)
    assert main(args) == 0
    assert "gh/acme/app #1: success" in capsys.readouterr().out


SCHEDULED = """\
version: 2.1
jobs:
  show:
    docker: [{image: cimg/base:current}]
    steps:
      - run: echo "<< pipeline.trigger.type >> / << pipeline.trigger.name >> / << pipeline.trigger.received_at >>"
workflows:
  nightly:
    when: {equal: [schedule, << pipeline.trigger.type >>]}
    jobs: [show]
"""


@pytest.mark.parametrize(("trigger", "runs"), [("schedule", True), ("api", False), ("webhook", False)])
def test_trigger_type_schedule_starts_the_pipeline_as_a_schedule_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trigger: str, runs: bool
) -> None:
    write_project(tmp_path, "app", SCHEDULED)
    code = main(["rehearse", "--project", f"gh/acme/app={tmp_path / 'app'}", "--trigger-type", trigger, "--json"])
    data = json.loads(capsys.readouterr().out)
    [pipeline] = data["pipelines"]
    if runs:
        assert code == 0
        [workflow] = pipeline["workflows"]
        said = workflow["jobs"][0]["steps"][0]["output"]
        assert said.startswith("schedule / rehearsal schedule / 20")  # received_at is an ISO time
    else:
        assert code == 5  # no workflow ran
        assert pipeline["workflows"] == []
