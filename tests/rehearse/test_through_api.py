"""The runner driven through the simulator's HTTP API: stored artifacts download, a cancel stops the workflow."""

from __future__ import annotations

import threading
from pathlib import Path

import requests

from cb_helper.rehearse.engine import ProjectSpec, Rehearsal
from cb_helper.rehearse.timeline import Event
from tests.rehearse.helpers import write_project

A = "gh/acme/project-a"
JOB = "docker: [{image: cimg/base:current}]"


def _rehearsal(tmp_path: Path, config: str, **kwargs: object) -> Rehearsal:
    spec = ProjectSpec(write_project(tmp_path, "project-a", config))
    return Rehearsal({A: spec}, **kwargs)  # type: ignore[arg-type]


def test_a_stored_artifact_downloads_from_its_listed_url(tmp_path: Path) -> None:
    config = f"""
    version: 2.1
    jobs:
      produce:
        {JOB}
        steps:
          - run: |
              mkdir -p out/deep
              printf '{{"image_digest": "sha256:0f1e"}}' > out/deep/outputs.json
          - store_artifacts: {{path: out, destination: circleback}}
    workflows:
      main: {{jobs: [produce]}}
    """
    with _rehearsal(tmp_path, config) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(60)
        job = result.pipeline(A).job("produce")
        assert job.status == "success", job.output()
        server = rehearsal.server
        listed = requests.get(
            f"{server.api_url}/project/{A}/{job.number}/artifacts", headers={"Circle-Token": server.token}, timeout=5
        )
        (item,) = listed.json()["items"]
        assert item["path"] == "circleback/deep/outputs.json"
        assert item["url"].startswith(server.url + "/")
        download = requests.get(item["url"], headers={"Circle-Token": server.token}, timeout=5)
        refused = requests.get(item["url"], timeout=5)
    assert (download.status_code, download.content) == (200, b'{"image_digest": "sha256:0f1e"}')
    assert refused.status_code == 401


def test_two_projects_artifacts_of_the_same_job_number_and_path_stay_apart(tmp_path: Path) -> None:
    """Job numbers count per project: job #1 of A and job #1 of B each download their own file."""
    b = "gh/acme/project-b"
    config = f"""
    version: 2.1
    jobs:
      produce:
        {JOB}
        steps:
          - run: mkdir -p out && echo "$CIRCLE_PROJECT_REPONAME" > out/who.txt
          - store_artifacts: {{path: out, destination: circleback}}
    workflows:
      main: {{jobs: [produce]}}
    """
    specs = {slug: ProjectSpec(write_project(tmp_path, slug.split("/")[-1], config)) for slug in (A, b)}
    with Rehearsal(specs) as rehearsal:
        rehearsal.start(A)
        rehearsal.start(b)
        result = rehearsal.run_until_settled(60)
        server = rehearsal.server
        contents = {}
        for slug in (A, b):
            job = result.pipeline(slug).job("produce")
            assert job.number == 1, job.output()
            url = f"{server.api_url}/project/{slug}/1/artifacts"
            (item,) = requests.get(url, headers={"Circle-Token": server.token}, timeout=5).json()["items"]
            contents[slug] = requests.get(item["url"], headers={"Circle-Token": server.token}, timeout=5).text
    assert contents == {A: "project-a\n", b: "project-b\n"}


def test_a_cancel_through_the_api_stops_the_running_job_and_the_workflow(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    config = f"""
    version: 2.1
    jobs:
      slow: {{ {JOB}, steps: [{{run: 'touch "$SHARED/started"; sleep 600; touch "$SHARED/slept"'}}] }}
      after: {{ {JOB}, steps: [{{run: 'touch "$SHARED/after"'}}] }}
      after-any: {{ {JOB}, steps: [{{run: 'touch "$SHARED/after-any"'}}] }}
    workflows:
      main:
        jobs: [slow, {{after: {{requires: [slow]}}}}, {{after-any: {{requires: [{{slow: terminal}}]}}}}]
    """
    started = threading.Event()

    def on_event(event: Event) -> None:
        if event.kind == "job_started" and event.job == "slow":
            started.set()

    with _rehearsal(tmp_path, config, project_env={"SHARED": str(shared)}, on_event=on_event) as rehearsal:
        server = rehearsal.server
        pipeline_id = rehearsal.start(A)
        (workflow,) = rehearsal.state.workflows_of(pipeline_id)

        def cancel_once_running() -> None:
            started.wait(60)
            for _ in range(600):  # until the step itself is under way, so the cancel interrupts it
                if (shared / "started").exists():
                    break
                threading.Event().wait(0.05)
            response = requests.post(
                f"{server.api_url}/workflow/{workflow.id}/cancel", headers={"Circle-Token": server.token}, timeout=10
            )
            assert response.status_code == 202

        canceller = threading.Thread(target=cancel_once_running)
        canceller.start()
        # Far shorter than the 600 s sleep: "settled" here means the rehearsal ended because of the cancel.
        result = rehearsal.run_until_settled(120)
        canceller.join()
        cancels = rehearsal.state.effects("cancel", workflow_id=workflow.id)
    assert result.outcome == "settled"
    finished = result.pipeline(A).workflow()
    assert finished.status == "canceled"
    assert [(j.name, j.status) for j in finished.jobs] == [
        ("slow", "canceled"),
        ("after", "canceled"),
        ("after-any", "canceled"),
    ]
    assert (shared / "started").exists()
    assert not (shared / "slept").exists()
    assert not (shared / "after").exists()
    assert not (shared / "after-any").exists()
    assert len(cancels) == 1
    assert any(e.kind == "workflow_canceled" for e in result.timeline)


def test_bash_env_carries_exports_to_later_steps_and_stored_tests_reach_the_api_and_the_report(
    tmp_path: Path,
) -> None:
    from cb_helper.rehearse.report import summary_lines

    config = f"""
    version: 2.1
    jobs:
      check:
        {JOB}
        steps:
          - run: |
              echo "export DIGEST='sha256:0f1e'" >> "$BASH_ENV"
              mkdir -p results
              cat > results/b.xml \\<<EOF
              <testsuite><testcase classname="cart" name="test_ok"/>
              <testcase classname="cart" name="test_total"><failure message="expected 42"/></testcase></testsuite>
              EOF
          - run: echo "later step sees $DIGEST"
          - store_test_results: {{path: results}}
    workflows:
      main: {{jobs: [check]}}
    """
    with _rehearsal(tmp_path, config) as rehearsal:
        rehearsal.start(A)
        result = rehearsal.run_until_settled(60)
        job = result.pipeline(A).job("check")
        server = rehearsal.server
        listed = requests.get(
            f"{server.api_url}/project/{A}/{job.number}/tests", headers={"Circle-Token": server.token}, timeout=5
        )
    assert job.status == "success", job.output()
    assert job.steps[1].output.strip() == "later step sees sha256:0f1e"
    items = {item["name"]: item for item in listed.json()["items"]}
    assert (items["test_ok"]["result"], items["test_ok"]["message"]) == ("success", "")  # a string, never null
    assert (items["test_total"]["result"], items["test_total"]["message"]) == ("failure", "expected 42")
    report = "\n".join(summary_lines(result, width=100))
    assert (
        "    check: success\n      stored 2 test result(s), 1 failing\n        cart test_total: expected 42" in report
    )
