"""`cb-helper lint`: each wiring mistake found in a fixture config at its line, and every shipped config clean."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path

import pytest

from cb_helper.cli import main
from cb_helper.rehearse.examples import declare, example_config, load_orb, write_config
from tests.e2e.test_doc_snippets import DOCUMENTS, configs_in

A = "gh/acme/project-a"
B = "gh/acme/project-b"
RECORD = {"circleback": {"type": "string", "default": ""}}


@pytest.fixture(scope="module")
def orb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tools.orbkit.bundle import ORB_SRC, build_orb

    path = tmp_path_factory.mktemp("orb") / "orb.yml"
    path.write_text(build_orb(ORB_SRC), encoding="utf-8")
    return path


def lint(orb: Path, *projects: tuple[str, Path], json_output: bool = False) -> tuple[int, str, str]:
    args = ["lint", "--orb", f"circleback={orb}"]
    for slug, path in projects:
        args += ["--project", f"{slug}={path}"]
    if json_output:
        args.append("--json")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def config(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name / ".circleci" / "config.yml"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [number] = [i for i, line in enumerate(lines, start=1) if needle in line]
    return number


JOB = """
  build:
    docker:
      - image: cimg/base:current
    steps:
      - run: "true"
"""


def a_config(tmp_path: Path, workflow: str) -> Path:
    text = "version: 2.1\norbs:\n  circleback: circleback/circleback@0.1\njobs:" + JOB + "workflows:\n  release:\n"
    return config(tmp_path, "a", text + textwrap.indent(textwrap.dedent(workflow).lstrip("\n"), "    "))


def b_config(tmp_path: Path, workflows: str, *, declared: bool = True) -> Path:
    head = "version: 2.1\norbs:\n  circleback: circleback/circleback@0.1\n"
    if declared:
        head += 'parameters:\n  circleback: {type: string, default: ""}\n'
    head += "jobs:" + JOB + JOB.replace("build:", "lint:") + "workflows:\n"
    return config(tmp_path, "b", head + textwrap.indent(textwrap.dedent(workflows).lstrip("\n"), "  "))


def only_mistake(orb: Path, *projects: tuple[str, Path]) -> str:
    code, out, err = lint(orb, *projects)
    assert code == 1, out + err
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0]


# --- one fixture per mistake -----------------------------------------------------------------------------------


def test_a_hold_that_requires_the_trigger_only_through_another_job(orb: Path, tmp_path: Path) -> None:
    path = a_config(
        tmp_path,
        """
        jobs:
          - circleback/trigger:
              {name: trigger-quick-farm, project_slug: gh/globex/quick-farm, branch: main, hold_job: await-quick-farm}
          - build: {name: sign-bundle, requires: [trigger-quick-farm]}
          - await-quick-farm: {type: approval, requires: [sign-bundle]}
          - circleback/check_status: {requires: [await-quick-farm]}
        """,
    )
    line = only_mistake(orb, (A, path))
    assert line.startswith(f"{path}:{line_of(path, '- await-quick-farm:')}: the hold 'await-quick-farm' does not ")
    assert line.endswith("; add trigger-quick-farm to its requires (requires: [sign-bundle, trigger-quick-farm])")


def test_a_hold_the_record_names_that_is_missing(orb: Path, tmp_path: Path) -> None:
    path = a_config(
        tmp_path,
        """
        jobs:
          - circleback/trigger: {name: trigger-b, project_slug: gh/acme/project-b, branch: main, hold_job: wait-b}
          - wait-for-b: {type: approval, requires: [trigger-b]}
        """,
    )
    line = only_mistake(orb, (A, path))
    assert line.startswith(f"{path}:{line_of(path, 'name: trigger-b')}: the hold 'wait-b' that trigger 'trigger-b' ")


def test_a_check_that_does_not_require_the_hold(orb: Path, tmp_path: Path) -> None:
    path = a_config(
        tmp_path,
        """
        jobs:
          - circleback/trigger: {name: trigger-b, project_slug: gh/acme/project-b, branch: main}
          - wait-for-triggered-pipeline: {type: approval, requires: [trigger-b]}
          - circleback/check_status: {name: check-b, requires: [trigger-b]}
        """,
    )
    line = only_mistake(orb, (A, path))
    assert line.startswith(f"{path}:{line_of(path, 'name: check-b')}: check 'check-b' does not require the hold")
    assert line.endswith("(requires: [wait-for-triggered-pipeline])")


def test_a_b_that_does_not_declare_the_record_parameter(orb: Path, tmp_path: Path) -> None:
    path = b_config(
        tmp_path,
        """
        tests:
          jobs:
            - build
            - circleback/circle_back:
                upstream: << pipeline.parameters.circleback >>
                requires: [{build: terminal}]
        """,
        declared=False,
    )
    line = only_mistake(orb, (B, path))
    assert line.startswith(f"{path}:{line_of(path, 'upstream:')}: pipeline parameter 'circleback' is used but not")


def test_a_b_that_the_trigger_sends_an_undeclared_record_parameter(orb: Path, tmp_path: Path) -> None:
    a = a_config(
        tmp_path,
        """
        jobs:
          - circleback/trigger:
              {name: trigger-b, project_slug: gh/acme/project-b, branch: main, record_parameter: upstream-record}
          - wait-for-triggered-pipeline: {type: approval, requires: [trigger-b]}
          - circleback/check_status: {requires: [wait-for-triggered-pipeline]}
        """,
    )
    b = b_config(
        tmp_path,
        """
        tests:
          jobs:
            - build
            - circleback/circle_back: {upstream: << pipeline.parameters.circleback >>, requires: [{build: terminal}]}
        """,
    )
    line = only_mistake(orb, (A, a), (B, b))
    assert line.startswith(
        f"{b}:{line_of(b, 'parameters:')}: B does not declare the record parameter 'upstream-record'"
    )


def test_a_b_that_does_not_pass_the_record_whole(orb: Path, tmp_path: Path) -> None:
    path = b_config(
        tmp_path,
        """
        tests:
          jobs:
            - build
            - circleback/circle_back:
                name: circle-back
                upstream: "record: << pipeline.parameters.circleback >>"
                requires: [{build: terminal}]
        """,
    )
    line = only_mistake(orb, (B, path))
    assert line.startswith(f"{path}:{line_of(path, '- circleback/circle_back:')}: circle-back 'circle-back' is passed")
    assert line.endswith("; pass it whole: upstream: << pipeline.parameters.circleback >>")


def test_a_circle_back_that_does_not_require_every_job_with_terminal(orb: Path, tmp_path: Path) -> None:
    path = b_config(
        tmp_path,
        """
        tests:
          jobs:
            - build
            - lint
            - circleback/circle_back:
                name: circle-back
                upstream: << pipeline.parameters.circleback >>
                requires: [build, {lint: terminal}]
        """,
    )
    line = only_mistake(orb, (B, path))
    assert line.startswith(
        f"{path}:{line_of(path, '- circleback/circle_back:')}: circle-back 'circle-back' does not require build "
        "with terminal"
    )
    assert line.endswith("(requires: [build: terminal, lint: terminal])")


def test_a_setup_configs_circle_back_needs_each_job_failed_and_canceled_only(orb: Path, tmp_path: Path) -> None:
    # In a setup config the continued config circles back on success; the setup's own circle-back covers the rest.
    workflow = """
        setup:
          jobs:
            - build
            - circleback/circle_back:
                name: circle-back
                upstream: << pipeline.parameters.circleback >>
                requires: [{build: %s}]
        """
    clean = b_config(tmp_path / "clean", workflow % "[failed, canceled]")
    text = clean.read_text(encoding="utf-8").replace("version: 2.1\n", "version: 2.1\nsetup: true\n", 1)
    clean.write_text(text, encoding="utf-8")
    code, out, err = lint(orb, (B, clean))
    assert (code, out) == (0, ""), out + err
    path = b_config(tmp_path / "failed-only", workflow % "failed")
    path.write_text(path.read_text(encoding="utf-8").replace("version: 2.1\n", "version: 2.1\nsetup: true\n", 1))
    line = only_mistake(orb, (B, path))
    assert line.startswith(
        f"{path}:{line_of(path, '- circleback/circle_back:')}: circle-back 'circle-back' of a setup config does not "
        "require build with failed and canceled"
    )
    assert line.endswith("(requires: [build: [failed, canceled]])")


def test_a_b_workflow_that_can_run_without_a_circle_back(orb: Path, tmp_path: Path) -> None:
    path = b_config(
        tmp_path,
        """
        tests:
          jobs:
            - build
            - circleback/circle_back: {upstream: << pipeline.parameters.circleback >>, requires: [{build: terminal}]}
        nightly-lint:
          jobs:
            - lint
        only-on-push:
          when: {equal: ["", << pipeline.parameters.circleback >>]}
          jobs:
            - lint
        """,
    )
    line = only_mistake(orb, (B, path))
    assert line.startswith(f"{path}:{line_of(path, 'nightly-lint:')}: workflow 'nightly-lint' runs when B is ")


def test_pipeline_trigger_source(orb: Path, tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "ops",
        """
        version: 2.1
        orbs:
          circleback: circleback/circleback@0.1
        workflows:
          sweep:
            when:
              equal: [scheduled_pipeline, << pipeline.trigger_source >>]
            jobs:
              - circleback/sweep: {projects: gh/acme/project-a}
        """,
    )
    line = only_mistake(orb, ("gh/acme/ops", path))
    assert line.startswith(f"{path}:{line_of(path, 'trigger_source')}: pipeline.trigger_source is no longer supported")
    assert line.endswith("; use pipeline.trigger.type (a schedule is 'schedule', an API trigger 'api')")


def test_the_legacy_handoff_without_allowed_projects(orb: Path, tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "legacy",
        """
        version: 2.1
        orbs:
          circleback: circleback/circleback@0.1
        parameters:
          triggering-workflow-id: {type: string, default: ""}
        jobs:
          tests:
            docker:
              - image: cimg/base:current
            steps:
              - run: "true"
        workflows:
          tests:
            jobs:
              - tests
              - circleback/circle_back:
                  upstream_workflow_id: << pipeline.parameters.triggering-workflow-id >>
                  requires: [{tests: terminal}]
        """,
    )
    line = only_mistake(orb, (B, path))
    assert line.startswith(f"{path}:{line_of(path, '- circleback/circle_back:')}: circle-back ")
    assert "uses the legacy handoff without allowed_projects" in line


def test_json_lists_the_same_mistakes(orb: Path, tmp_path: Path) -> None:
    path = b_config(tmp_path, "tests:\n  jobs:\n    - build\n    - circleback/circle_back: {requires: [build]}\n")
    code, out, _ = lint(orb, (B, path), json_output=True)
    assert code == 1
    kinds = sorted(m["kind"] for m in json.loads(out)["mistakes"])
    assert kinds == ["record-parameter", "terminal"]


# --- every shipped config lints clean ---------------------------------------------------------------------------


def test_every_orb_example_lints_clean(orb: Path, tmp_path: Path) -> None:
    for name in sorted(load_orb(orb)["examples"]):
        example = example_config(orb, name)
        if "circle_back" in name:  # a B: its config declares the record (an example cannot show it)
            example = declare(example, RECORD)
        path = write_config(example, tmp_path / name)
        code, out, err = lint(orb, (B if "circle_back" in name else A, path))
        assert (code, out) == (0, ""), f"{name}: {out}{err}"


def test_every_config_in_the_documents_lints_clean(orb: Path, tmp_path: Path) -> None:
    shown = [snippet for document in DOCUMENTS for snippet in configs_in(document)]
    assert shown
    for index, snippet in enumerate(shown):
        path = config(tmp_path, f"doc-{index}", snippet.text)
        code, out, err = lint(orb, (A, path))
        assert (code, out) == (0, ""), f"{snippet}: {out}{err}"


def test_the_demos_configs_lint_clean(orb: Path, tmp_path: Path) -> None:
    from tools.demo import SCENARIOS, _projects

    for index, scenario in enumerate(SCENARIOS):
        projects = _projects(load_orb(orb), scenario, tmp_path / str(index))
        code, out, err = lint(orb, *projects.items())
        assert (code, out) == (0, ""), f"{scenario.title}: {out}{err}"


def test_rehearse_lints_first_and_prints_what_it_finds(orb: Path, tmp_path: Path) -> None:
    path = a_config(
        tmp_path,
        """
        jobs:
          - circleback/trigger:
              {name: trigger-b, context: circleci-api, project_slug: gh/acme/project-b, branch: main}
          - build: {name: sign-bundle, requires: [trigger-b]}
          - wait-for-triggered-pipeline: {type: approval, requires: [sign-bundle]}
        """,
    )
    args = ["rehearse", "--orb", f"circleback={orb}", "--context", "circleci-api", "--project", f"{A}={path}"]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--timeout", "60"])
    first = err.getvalue().splitlines()[0]
    hold_line = line_of(path, "- wait-for-triggered-pipeline:")
    assert first.startswith(f"cb-helper: lint: {path}:{hold_line}: the hold 'wait-for-triggered-pipeline' does not")
    assert code == 1  # A's trigger refuses the same wiring at run time, before B is triggered
    assert "must require this trigger job 'trigger-b' directly" in out.getvalue()
