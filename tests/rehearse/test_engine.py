"""The engine against the simulator: steps, scheduling, approvals, triggers, cancels, reruns."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cb_helper.api.errors import BadInput
from cb_helper.rehearse.engine import ProjectSpec, Rehearsal
from cb_helper.rehearse.errors import ConfigError
from tests.rehearse.helpers import write_project

A = "gh/acme/project-a"
B = "gh/acme/project-b"
JOB = "docker: [{image: cimg/base:current}]"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A host directory jobs can use to coordinate (given to them as $SHARED)."""
    path = tmp_path / "shared"
    path.mkdir()
    return path


def rehearse(tmp_path: Path, configs: dict[str, str], **kwargs: object) -> Rehearsal:
    projects = {
        slug: ProjectSpec(write_project(tmp_path, slug.rsplit("/", 1)[1], text), branches=("main", "dev"))
        for slug, text in configs.items()
    }
    return Rehearsal(projects, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def cleanup() -> Iterator[list[Rehearsal]]:
    opened: list[Rehearsal] = []
    yield opened
    for rehearsal in opened:
        rehearsal.close()


def test_steps_gating_environment_and_directories(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      build:
        {JOB}
        working_directory: ~/src
        environment: {{LEVEL: job}}
        steps:
          - run:
              name: where
              command: 'echo "$PWD|$CIRCLE_JOB|$CIRCLE_BRANCH|$CIRCLE_BUILD_NUM|$CI|$LEVEL|$STEP"'
              environment: {{STEP: s}}
          - run: {{name: sub, working_directory: deeper, command: 'pwd'}}
          - run: {{name: breaks, command: 'echo about to fail; false'}}
          - run: {{name: skipped, command: 'echo never'}}
          - run: {{name: cleanup, command: 'echo always', when: always}}
          - run: {{name: on-fail, command: 'echo failing', when: on_fail}}
    workflows:
      main: {{jobs: [build]}}
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        pipeline_id = rehearsal.start(A, "dev")
        result = rehearsal.run_until_settled(30)
        home = rehearsal.workdir
    assert result.outcome == "settled"
    pipeline = result.pipeline(A)
    assert pipeline.id == pipeline_id
    job = pipeline.job("build")
    assert job.status == "failed"
    assert [(s.name, s.status) for s in job.steps] == [
        ("where", "success"),
        ("sub", "success"),
        ("breaks", "failed"),
        ("skipped", "skipped"),
        ("cleanup", "success"),
        ("on-fail", "success"),
    ]
    where, sub = job.steps[0].output.strip(), job.steps[1].output.strip()
    directory, name, branch, number, ci, level, step = where.split("|")
    assert directory.startswith(str(home))
    assert directory.endswith("/src")
    assert (name, branch, number, ci, level, step) == ("build", "dev", "1", "true", "job", "s")
    assert sub == f"{directory}/deeper"
    assert job.steps[2].exit_code == 1
    assert pipeline.workflow("main").status == "failed"


def test_independent_jobs_run_concurrently(tmp_path: Path, shared: Path) -> None:
    wait_for = (
        'touch "$SHARED/{me}"; for i in $(seq 100); do [ -e "$SHARED/{other}" ] && exit 0; sleep 0.1; done; exit 1'
    )
    config = f"""
    version: 2.1
    jobs:
      left: {{ {JOB}, steps: [{{run: '{wait_for.format(me="left", other="right")}'}}] }}
      right: {{ {JOB}, steps: [{{run: '{wait_for.format(me="right", other="left")}'}}] }}
    workflows:
      main: {{jobs: [left, right]}}
    """
    with rehearse(tmp_path, {A: config}, project_env={"SHARED": str(shared)}) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
    workflow = result.pipeline(A).workflow()
    assert [(j.name, j.status) for j in workflow.jobs] == [("left", "success"), ("right", "success")]


def test_workspace_layers_reach_only_downstream_jobs(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      make:
        {JOB}
        steps:
          - run: mkdir -p out/sub && echo made > out/sub/file.txt && echo other > out/skip.log
          - persist_to_workspace: {{root: out, paths: [sub/*.txt]}}
      use:
        {JOB}
        steps:
          - attach_workspace: {{at: ~/ws}}
          - run: cat ~/ws/sub/file.txt && test ! -e ~/ws/skip.log
      apart:
        {JOB}
        steps:
          - attach_workspace: {{at: ws}}
          - run: test ! -e ws/sub/file.txt
    workflows:
      main:
        jobs: [make, {{use: {{requires: [make]}}}}, apart]
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
    workflow = result.pipeline(A).workflow()
    assert {j.name: j.status for j in workflow.jobs} == {"make": "success", "use": "success", "apart": "success"}
    assert "made" in workflow.job("use").steps[1].output


def test_requires_status_forms_and_not_run(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      pass: {{ {JOB}, steps: [{{run: "true"}}] }}
      fail: {{ {JOB}, steps: [{{run: "false"}}] }}
    workflows:
      main:
        jobs:
          - fail
          - pass: {{name: after-success, requires: [fail]}}
          - pass: {{name: after-failure, requires: [{{fail: failed}}]}}
          - pass: {{name: after-skipped, requires: [{{after-success: [not_run]}}]}}
          - pass: {{name: finally, requires: [{{after-success: terminal}}, {{fail: terminal}}]}}
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
    statuses = {j.name: j.status for j in result.pipeline(A).workflow().jobs}
    assert statuses == {
        "fail": "failed",
        "after-success": "not_run",
        "after-failure": "success",
        "after-skipped": "success",
        "finally": "success",
    }


def test_approval_holds_until_approved_through_the_state(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      build: {{ {JOB}, steps: [{{run: "sleep 0.2"}}] }}
    workflows:
      main:
        jobs: [build, {{hold: {{type: approval, requires: [build]}}}}, {{build: {{name: deploy, requires: [hold]}}}}]
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        rehearsal.start(A)
        first = rehearsal.run_until_settled(30)
        assert first.outcome == "stuck"
        assert first.waiting == [f"{A} #1 main/hold"]
        workflow = first.pipeline(A).workflow()
        hold = workflow.job("hold")
        assert (hold.status, workflow.job("deploy").status) == ("on_hold", "blocked")
        rehearsal.state.approve_job(workflow.id, hold.id)
        second = rehearsal.run_until_settled(30)
    assert second.outcome == "settled"
    pipeline = second.pipeline(A)
    assert pipeline.workflow().status == "success"
    assert pipeline.job("deploy").status == "success"
    assert pipeline.hold_seconds(second.elapsed) > 0
    assert second.billable_while_waiting(A) == 0


def test_an_api_trigger_runs_the_target_config(tmp_path: Path) -> None:
    downstream = f"""
    version: 2.1
    parameters:
      who: {{type: string, default: nobody}}
    jobs:
      greet: {{ {JOB}, steps: [{{run: "echo hello << pipeline.parameters.who >> on $CIRCLE_BRANCH"}}] }}
    workflows:
      main: {{jobs: [greet]}}
    """
    with rehearse(tmp_path, {A: "version: 2.1\nworkflows: {}\n", B: downstream}) as rehearsal:
        triggered = rehearsal.state.trigger_pipeline(B, branch="dev", parameters={"who": "A"})
        result = rehearsal.run_until_settled(30)
        broken = rehearsal.state.trigger_pipeline(B, parameters={"who": "A", "extra": 1, "another": True})
        errored = rehearsal.run_until_settled(30)
    greet = result.pipeline(B).job("greet")
    assert greet.status == "success"
    assert greet.steps[0].output.strip() == "hello A on dev"
    assert result.pipeline(B).id == triggered.id
    pipeline = next(p for p in errored.pipelines if p.id == broken.id)
    assert pipeline.state == "errored"
    assert pipeline.errors == [("config", "Unexpected argument(s): another, extra")]
    assert pipeline.workflows == []


def test_a_project_outside_the_rehearsal_is_not_found(tmp_path: Path) -> None:
    with rehearse(tmp_path, {A: "version: 2.1\nworkflows: {}\n"}) as rehearsal:
        server = rehearsal.server
        answer = requests.post(
            f"{server.url}/api/v2/project/gh/acme/elsewhere/pipeline",
            json={"branch": "main"},
            headers={"Circle-Token": server.token},
            timeout=10,
        )
    assert (answer.status_code, answer.json()) == (404, {"message": "Project not found"})
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rehearse.md").read_text(encoding="utf-8")
    assert "outside the rehearsal answers 404 `Project not found`" in " ".join(docs.split())


def test_a_broken_config_errors_only_its_pipeline(tmp_path: Path) -> None:
    with rehearse(tmp_path, {A: "version: 2.1\nworkflows: {}\n", B: "version: 2.1\njobs: [\n"}) as rehearsal:
        broken = rehearsal.state.trigger_pipeline(B)
        result = rehearsal.run_until_settled(30)
        with pytest.raises(ConfigError, match="is not valid YAML"):
            rehearsal.start(B)
        assert len(rehearsal.state.pipelines_of(B)) == 1
    [pipeline] = result.pipelines_of(B)
    assert pipeline.id == broken.id
    assert pipeline.state == "errored"
    assert pipeline.errors[0][0] == "config"
    assert "is not valid YAML" in pipeline.errors[0][1]


def test_start_checks_its_input_before_creating_anything(tmp_path: Path) -> None:
    bad_step = f"version: 2.1\njobs: {{j: {{ {JOB}, steps: [deploy_now] }}}}\nworkflows: {{w: {{jobs: [j]}}}}\n"
    with rehearse(tmp_path, {A: bad_step}) as rehearsal:
        with pytest.raises(BadInput, match="not part of this rehearsal"):
            rehearsal.start("gh/acme/unknown")
        with pytest.raises(BadInput, match="branch 'feature' is not a branch"):
            rehearsal.start(A, "feature")
        with pytest.raises(ConfigError, match="step 'deploy_now' is neither"):
            rehearsal.start(A)
        assert rehearsal.state.pipelines_of(A) == []


def test_cancel_stops_running_jobs(tmp_path: Path, shared: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      slow: {{ {JOB}, steps: [{{run: 'touch "$SHARED/started"; sleep 60; touch "$SHARED/finished"'}}] }}
      next: {{ {JOB}, steps: [{{run: "true"}}] }}
    workflows:
      main: {{jobs: [slow, {{next: {{requires: [{{slow: terminal}}]}}}}]}}
    """
    with rehearse(tmp_path, {A: config}, project_env={"SHARED": str(shared)}) as rehearsal:
        rehearsal.start(A)
        running = rehearsal.run_until_settled(0.3)
        assert running.outcome == "timeout"
        assert running.waiting == [f"{A} #1 main/slow"]
        rehearsal.state.cancel_workflow(running.pipeline(A).workflow().id)
        result = rehearsal.run_until_settled(30)
    assert result.outcome == "settled"
    workflow = result.pipeline(A).workflow()
    assert workflow.status == "canceled"
    assert [(j.name, j.status) for j in workflow.jobs] == [("slow", "canceled"), ("next", "canceled")]
    assert not (shared / "finished").exists()


def test_a_rerun_from_failed_runs_the_new_workflow(tmp_path: Path, shared: Path) -> None:
    flaky = 'if [ -e "$SHARED/second-try" ]; then echo passed; else touch "$SHARED/second-try"; exit 1; fi'
    config = f"""
    version: 2.1
    jobs:
      setup: {{ {JOB}, steps: [{{run: "echo setup"}}] }}
      flaky: {{ {JOB}, steps: [{{run: '{flaky}'}}] }}
    workflows:
      main: {{jobs: [setup, {{flaky: {{requires: [setup]}}}}]}}
    """
    with rehearse(tmp_path, {A: config}, project_env={"SHARED": str(shared)}) as rehearsal:
        rehearsal.start(A)
        first = rehearsal.run_until_settled(30)
        old = first.pipeline(A).workflow()
        assert old.status == "failed"
        rehearsal.state.rerun_workflow(old.id, from_failed=True)
        result = rehearsal.run_until_settled(30)
    pipeline = result.pipeline(A)
    assert [(w.name, w.status) for w in pipeline.workflows] == [("main", "failed"), ("main", "success")]
    rerun = pipeline.workflow()
    assert rerun.job("setup").number == old.job("setup").number  # carried over, not run again
    assert rerun.job("flaky").steps[0].output.strip() == "passed"


def test_the_same_job_number_in_two_projects_keeps_two_sets_of_artifacts(tmp_path: Path) -> None:
    def config(word: str) -> str:
        return f"""
    version: 2.1
    jobs:
      build:
        {JOB}
        steps:
          - run: echo {word} > report.txt
          - store_artifacts: {{path: report.txt}}
    workflows:
      main: {{jobs: [build]}}
    """

    with rehearse(tmp_path, {A: config("from-a"), B: config("from-b")}) as rehearsal:
        rehearsal.start(A)
        rehearsal.start(B)
        result = rehearsal.run_until_settled(30)
        numbers = {slug: result.pipeline(slug).job("build").number for slug in (A, B)}
        assert numbers[A] == numbers[B] == 1
        texts = {}
        for slug in (A, B):
            [artifact] = rehearsal.state.artifacts_of(slug, 1) or []
            content = rehearsal.state.artifact_content(slug, 1, artifact.node_index, artifact.path)
            texts[slug] = (content or b"").decode().strip()
    assert texts == {A: "from-a", B: "from-b"}


def test_each_job_gets_its_own_tmp_for_parameter_defaults(tmp_path: Path) -> None:
    shared = f"/tmp/cb-rehearse-test-{uuid.uuid4().hex}"
    config = f"""
    version: 2.1
    jobs:
      write:
        parameters:
          root: {{type: string, default: {shared}/files}}
        {JOB}
        steps:
          - run: mkdir -p << parameters.root >> && echo "$CIRCLE_JOB" > << parameters.root >>/who && pwd
          - persist_to_workspace: {{root: << parameters.root >>, paths: [who]}}
      read:
        parameters:
          root: {{type: string, default: {shared}}}
        {JOB}
        steps:
          - attach_workspace: {{at: << parameters.root >>}}
          - run: cat << parameters.root >>/who
    workflows:
      main:
        jobs:
          - write: {{name: one}}
          - write: {{name: two}}
          - read: {{requires: [one]}}
          - write: {{name: given, root: {tmp_path}/given}}
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
        workdir = rehearsal.workdir
        pipeline = result.pipeline(A)
        assert [job.status for job in pipeline.workflow().jobs] == ["success"] * 4
        mine = workdir / "tmp" / "gh" / "acme" / "project-a" / "pipeline-1" / "main"
        name = Path(shared).name  # /tmp/<name> of the job becomes <its own directory>/<name>
        assert (mine / "one" / name / "files" / "who").read_text(encoding="utf-8") == "one\n"
        assert (mine / "two" / name / "files" / "who").read_text(encoding="utf-8") == "two\n"
        assert pipeline.job("read").steps[-1].output.strip() == "one"
    assert (tmp_path / "given" / "who").read_text(encoding="utf-8") == "given\n"  # a value given is kept
    assert not Path(shared).exists()


def test_artifacts_test_results_contexts_and_masking(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      report:
        {JOB}
        steps:
          - run: |
              mkdir -p reports/junit
              echo "<html/>" > reports/index.html
              cat > reports/junit/results.xml \\<<EOF
              <testsuite><testcase classname="t" name="ok"/>
              <testcase classname="t" name="bad"><failure message="boom"/></testcase></testsuite>
              EOF
              echo "secret is $API_KEY"
          - store_artifacts: {{path: reports, destination: out}}
          - store_test_results: {{path: reports/junit}}
    workflows:
      main: {{jobs: [{{report: {{context: [deploy]}}}}]}}
    """
    contexts = {"deploy": {"API_KEY": "s3cr3t-value"}}
    with rehearse(tmp_path, {A: config}, contexts=contexts) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
        job = result.pipeline(A).job("report")
        artifacts = rehearsal.state.artifacts_of(A, job.number or 0)
        tests = rehearsal.state.tests_of(A, job.number or 0)
        origin = rehearsal.server.url
    assert job.status == "success"
    assert "secret is ********" in job.steps[0].output
    assert "s3cr3t" not in job.output()
    assert artifacts is not None
    assert sorted(a.path for a in artifacts) == ["out/index.html", "out/junit/results.xml"]
    assert all(a.url.startswith(f"{origin}/output/job/{A}/") for a in artifacts)  # served by the simulator
    assert tests is not None
    assert sorted((t.name, t.result, t.message) for t in tests) == [("bad", "failure", "boom"), ("ok", "success", "")]


def test_a_silent_step_times_out(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      quiet: {{ {JOB}, steps: [{{run: {{command: "sleep 30", no_output_timeout: 0.3s}}}}] }}
    workflows:
      main: {{jobs: [quiet]}}
    """
    with rehearse(tmp_path, {A: config}) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(30)
    job = result.pipeline(A).job("quiet")
    assert job.status == "failed"
    assert "Too long with no output" in job.steps[0].output
