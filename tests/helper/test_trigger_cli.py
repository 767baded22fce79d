"""cb-helper trigger: endpoints, typed parameters, start verification, and bad input that sends nothing."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cb_helper.sim import RequestRecord, SimEvent, SimServer
from tests.helper.conftest import PROJECT_B, Run


def start_workflows_on_trigger(sim: SimServer) -> None:
    """Behave like a healthy downstream: every triggered pipeline gets a running workflow."""

    def on_event(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            workflow = sim.state.add_workflow(event.pipeline_id, "test")
            sim.state.add_job(workflow.id, "unit-tests", status="running")

    sim.state.add_listener(on_event)


def posts(sim: SimServer) -> list[RequestRecord]:
    return [r for r in sim.state.request_log if r.method == "POST"]


def test_trigger_prints_the_id_alone_and_writes_the_id_file(sim: SimServer, run: Run, tmp_path: Path) -> None:
    start_workflows_on_trigger(sim)
    id_file = tmp_path / "ws" / "pipeline-id"
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--id-file", str(id_file),
        "--parameter", "triggering-pipeline-id=abc", "--parameter", "retries=3", "--parameter", "deploy=false",
        "--parameters-json", '{"version": "007", "flag": true}',
    )  # fmt: skip
    assert result.code == 0, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert result.stdout == pipeline.id + "\n"
    assert id_file.read_text() == pipeline.id + "\n"
    assert pipeline.parameters == {
        "triggering-pipeline-id": "abc", "retries": 3, "deploy": False, "version": "007", "flag": True,
    }  # fmt: skip
    (post,) = posts(sim)
    assert post.path == f"/project/{PROJECT_B}/pipeline"
    assert post.body["branch"] == "main"
    assert "started" in result.stderr


def test_trigger_json_output(sim: SimServer, run: Run) -> None:
    start_workflows_on_trigger(sim)
    result = run("trigger", "--project", PROJECT_B, "--tag", "v1.2.3", "--json")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    (workflow,) = sim.state.workflows_of(pipeline.id)
    assert set(data) == {"id", "number", "state", "created_at", "url", "workflows"}
    assert (data["id"], data["number"], data["state"]) == (pipeline.id, 1, "created")
    assert isinstance(data["created_at"], str)
    assert data["url"] == f"{sim.url}/pipelines/github/acme/project-b/1"
    assert data["workflows"] == [{"id": workflow.id, "name": "test", "status": "running"}]
    assert pipeline.tag == "v1.2.3"
    assert f"pipeline {pipeline.id} started: test (running)" in result.stderr


def test_circleci_slugs_and_definition_ids_use_the_run_endpoint(sim: SimServer, run: Run) -> None:
    definition = "0c8e2a4e-5f4b-4a43-8d2b-3c7d2f1e9a10"
    sim.state.add_project("circleci/Org1/Proj1", definition_id=definition)
    result = run(
        "trigger", "--project", "circleci/Org1/Proj1", "--branch", "main", "--definition-id", definition,
        "--parameter", "x=1", "--no-verify-start",
    )  # fmt: skip
    assert result.code == 0, result.output
    (post,) = posts(sim)
    assert post.path == "/project/circleci/Org1/Proj1/pipeline/run"
    assert post.body == {
        "definition_id": definition,
        "config": {"branch": "main"},
        "checkout": {"branch": "main"},
        "parameters": {"x": 1},
    }


def test_an_errored_pipeline_fails_at_once_with_its_errors(sim: SimServer, run: Run) -> None:
    def break_config(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            sim.state.mark_pipeline_errored(event.pipeline_id, [("config", "Unexpected argument(s): nope")])

    sim.state.add_listener(break_config)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--parameter", "nope=1")
    assert result.code == 5, result.output
    assert "errored" in result.stderr
    assert "Unexpected argument(s): nope" in result.stderr
    assert result.stdout == ""


def test_a_pipeline_that_never_starts_a_workflow_times_out(sim: SimServer, run: Run) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--start-timeout", "1.5")
    assert result.code == 4, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert (
        f"pipeline {pipeline.id} did not start within 1.5s: created, no workflow yet (the pipeline exists but no "
        "workflow ran: filters or a `when` may exclude this branch or tag)"
    ) in result.stderr
    assert f"pipeline {pipeline.id}: created, no workflow yet" in result.stderr  # progress while it waited


def test_a_pipeline_stuck_before_creation_times_out_naming_its_state(sim: SimServer, run: Run) -> None:
    def stay_in_setup(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            sim.state.set_pipeline_state(event.pipeline_id, "setup-pending")

    sim.state.add_listener(stay_in_setup)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--start-timeout", "1")
    assert result.code == 4, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert f"pipeline {pipeline.id} did not start within 1s: state setup-pending (a dynamic config" in result.stderr
    assert "filters or a `when`" not in result.stderr


def test_a_lost_answer_whose_pipeline_cannot_be_looked_for_is_an_error(sim: SimServer, run: Run) -> None:
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    sim.faults.add("GET /me", "status", status=500, count=10)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start")
    assert result.code == 3, result.output
    assert "looking for the pipeline it may have created failed (GET /me failed with HTTP 500" in result.stderr
    assert f"{PROJECT_B} may already have been triggered: check its recent pipelines" in result.stderr
    assert result.stdout == ""


def test_without_verification_the_id_is_printed_at_once(sim: SimServer, run: Run) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start")
    assert result.code == 0
    assert result.stdout.strip() == sim.state.pipelines_of(PROJECT_B)[0].id


def test_unknown_branch_is_the_apis_error(sim: SimServer, run: Run) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "nope", "--no-verify-start")
    assert result.code == 3
    assert "Branch not found" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--project", "acme/api", "--branch", "main"], "'acme/api'"),
        (["--project", "gitlab/a/b", "--branch", "main"], "'gitlab'"),
        (["--project", PROJECT_B], "neither"),
        (["--project", PROJECT_B, "--branch", "main", "--tag", "v1"], "both"),
        (["--project", PROJECT_B, "--branch", "main", "--parameter", "novalue"], "'novalue'"),
        (["--project", PROJECT_B, "--branch", "main", "--parameters-json", "{nope"], "'{nope'"),
        (["--project", PROJECT_B, "--branch", "main", "--parameter", "k=" + "v" * 513], "513 characters"),
        (
            ["--project", PROJECT_B, "--branch", "main", "--definition-id", "null"],
            "--definition-id 'null' is not a UUID",
        ),
        (["--project", PROJECT_B, "--branch", "main", "--start-timeout", "0"], "--start-timeout"),
        (["--project", PROJECT_B, "--branch", "main", "--host", "ftp://x"], "'ftp://x'"),
        (["--project", PROJECT_B, "--branch", "main", "--token-env", "MISSING_TOKEN"], "MISSING_TOKEN"),
        (["--project", PROJECT_B, "--branch", ""], "''"),
        (["--project", PROJECT_B, "--branch", "main", "--host", "http://127.0.0.1:99999"], "invalid port"),
        (["--project", PROJECT_B, "--branch", "main", "--host", "http://u:s3cret@example.com"], "credentials"),
        (["--project", PROJECT_B, "--branch", "main", "--parameters-json", '{"a": [1]}'], "'a' is a list"),
        (["--project", PROJECT_B, "--branch", "main", "--parameters-json", '{"f": 1.5}'], "'f' is a number"),
        (["--project", PROJECT_B, "--branch", "main", "--parameters-json", '{"n": null}'], "'n' is null"),
        (["--project", PROJECT_B, "--branch", "main", "--parameters-json", '{"o": {}}'], "'o' is an object"),
        (["--project", PROJECT_B, "--branch", "main", "--bogus"], "--bogus"),
        (["--project"], "--project"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_sends_nothing(sim: SimServer, run: Run, args: list[str], needle: str) -> None:
    result = run("trigger", *args)
    assert result.code == 2, result.output
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("cb-helper: error: ")
    assert "s3cret" not in result.stderr
    assert result.stdout == ""
    assert sim.state.request_log == []


def test_too_many_parameters_are_refused_before_any_call(sim: SimServer, run: Run) -> None:
    params = json.dumps({f"k{i}": i for i in range(101)})
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--parameters-json", params)
    assert result.code == 2
    assert "101 pipeline parameters" in result.stderr
    assert sim.state.request_log == []


def test_a_trigger_the_api_declines_is_never_started_exit_5(sim: SimServer, run: Run) -> None:
    sim.state.add_project("circleci/org1/proj1", branches=("main", "wip"), ci_skip_branches=("wip",))
    result = run("trigger", "--project", "circleci/org1/proj1", "--branch", "wip")
    assert result.code == 5, result.output
    assert "no pipeline was created on circleci/org1/proj1: Ignoring pipeline due to CI skip" in result.stderr
    assert result.stdout == ""


class _OneAnswer(http.server.BaseHTTPRequestHandler):
    """An API that accepts every trigger with the same 201 body, whatever it is."""

    body: bytes = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _answering(body: str) -> Iterator[str]:
    handler = type("Answer", (_OneAnswer,), {"body": body.encode()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "body", ['{"id": null}', "{}", '{"id": "null"}', '{"id": "42"}', '[{"id": null}]', '{"id": null, "message": "ok"}']
)
@pytest.mark.parametrize("verify", ["--no-verify-start", "--verify-start"])
def test_an_answer_without_a_uuid_is_never_success(run: Run, tmp_path: Path, body: str, verify: str) -> None:
    """A 201 whose id is missing, null or not a UUID: exit 3, nothing on stdout, no id file (not `None`, exit 0)."""
    id_file = tmp_path / "pipeline-id"
    for url in _answering(body):
        result = run("trigger", "--project", PROJECT_B, "--branch", "main", verify, "--id-file", str(id_file),
                     env={"CIRCLECI_HOST": url})  # fmt: skip
    assert result.code == 3, result.output
    assert (
        f"POST /project/{PROJECT_B}/pipeline failed: the answer has no pipeline id; nothing to wait for"
    ) in result.stderr
    assert result.stdout == ""
    assert not id_file.exists()


def test_recovery_does_not_guess_between_several_matching_pipelines(sim: SimServer, run: Run) -> None:
    """The answer is lost and two recent pipelines fit the trigger: neither is adopted, and the user is told."""
    sim.state.create_pipeline(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p1"})
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--parameter", "triggering-pipeline-id=p1",
                 "--no-verify-start")  # fmt: skip
    assert result.code == 3, result.output
    assert result.stdout == ""
    ids = [p.id for p in sim.state.pipelines_of(PROJECT_B)]
    assert len(ids) == 2
    assert f"cb-helper: several recent pipelines match this trigger ({', '.join(ids)}); not guessing\n" in result.stderr
    assert (
        f"; several recent pipelines on {PROJECT_B} could be the one it created. "
        f"{PROJECT_B} may already have been triggered: check its recent pipelines"
    ) in result.stderr
    assert len(posts(sim)) == 1


def test_recovery_adopts_the_one_matching_pipeline(sim: SimServer, run: Run) -> None:
    sim.state.create_pipeline(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p0"})
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--parameter", "triggering-pipeline-id=p1",
                 "--no-verify-start")  # fmt: skip
    assert result.code == 0, result.output
    (created,) = [p for p in sim.state.pipelines_of(PROJECT_B) if p.parameters == {"triggering-pipeline-id": "p1"}]
    assert result.stdout == created.id + "\n"
    assert f"cb-helper: the trigger's answer was lost, but pipeline {created.id} was created by it; using it\n" in (
        result.stderr
    )


@pytest.mark.parametrize(("minutes", "adopted"), [(3, True), (1, False)])
def test_recovery_looks_back_two_minutes_only(sim: SimServer, run: Run, minutes: int, adopted: bool) -> None:
    """A twin of the trigger made 3 minutes before it is not a candidate; one made a minute before is."""
    older = sim.state.create_pipeline(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p1"})
    sim.state.backdate_pipeline(older.id, timedelta(minutes=minutes + 1).total_seconds())  # listed after the twin
    twin = sim.state.create_pipeline(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p1"})
    sim.state.backdate_pipeline(twin.id, timedelta(minutes=minutes).total_seconds())
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--parameter", "triggering-pipeline-id=p1",
                 "--no-verify-start")  # fmt: skip
    created = sim.state.pipelines_of(PROJECT_B)[0]  # newest first
    assert created.id not in (twin.id, older.id)
    if adopted:
        assert result.code == 0, result.output
        assert result.stdout == created.id + "\n"
    else:
        assert result.code == 3, result.output
        assert "several recent pipelines match this trigger" in result.stderr
    assert len(posts(sim)) == 1


PROJECT_C = "gh/acme/project-c"


@pytest.mark.parametrize(
    ("decoy", "request_ref"),
    [
        ({"branch": "main", "trigger_type": "webhook"}, ["--branch", "main"]),
        ({"branch": "main", "actor": "someone-else"}, ["--branch", "main"]),
        ({"branch": "dev"}, ["--branch", "main"]),
        ({"tag": "v1"}, ["--tag", "v2"]),
        ({"branch": "main", "parameters": {"triggering-pipeline-id": "p0"}}, ["--branch", "main"]),
    ],
    ids=["a-push", "another-user", "another-branch", "another-tag", "other-parameters"],
)
def test_recovery_adopts_only_a_pipeline_this_trigger_could_have_created(
    sim: SimServer, run: Run, decoy: dict[str, Any], request_ref: list[str]
) -> None:
    """A recent pipeline that differs from the trigger in any way is not a candidate, so the real one is adopted."""
    sim.state.add_project(PROJECT_C, branches=("main", "dev"))
    decoy = dict(decoy)  # the parameters are shared by every run of the test
    if "actor" in decoy:
        decoy["actor"] = sim.state.add_token("other-token", login=decoy["actor"])
    sim.state.create_pipeline(PROJECT_C, **{"parameters": {"triggering-pipeline-id": "p1"}, **decoy})
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    result = run("trigger", "--project", PROJECT_C, *request_ref, "--parameter", "triggering-pipeline-id=p1",
                 "--no-verify-start")  # fmt: skip
    assert result.code == 0, result.output
    created, _ = sim.state.pipelines_of(PROJECT_C)  # newest first
    assert result.stdout == created.id + "\n"
    assert created.parameters == {"triggering-pipeline-id": "p1"}


def test_an_errored_pipeline_is_named_with_its_number_project_and_every_error(sim: SimServer, run: Run) -> None:
    def break_config(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            sim.state.mark_pipeline_errored(
                event.pipeline_id, [("config", "Unexpected argument(s): nope"), ("plan", "Out of credits")]
            )

    sim.state.add_listener(break_config)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main")
    assert result.code == 5, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert (
        f"pipeline {pipeline.id} (#1) on {PROJECT_B} errored and will not run: "
        "config: Unexpected argument(s): nope; plan: Out of credits"
    ) in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "main", "--tag", "v1"], "give exactly one of --branch and --tag (got both)"),
        ([], "give exactly one of --branch and --tag (got neither)"),
        (["--branch", "feature x"], "branch 'feature x' is not a valid git ref name (expected e.g. main)"),
        (["--tag", " "], "tag ' ' is not a valid git ref name (expected e.g. main)"),
        (["--tag", "v1\t"], "tag 'v1\\t' is not a valid git ref name (expected e.g. main)"),
    ],
)
def test_refs_are_refused_with_the_exact_reason(sim: SimServer, run: Run, args: list[str], message: str) -> None:
    result = run("trigger", "--project", PROJECT_B, *args)
    assert result.code == 2, result.output
    assert result.stderr.strip().endswith(message)
    assert sim.state.request_log == []


def test_a_pipeline_that_errored_without_errors_says_so(sim: SimServer, run: Run) -> None:
    def break_config(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            sim.state.mark_pipeline_errored(event.pipeline_id, [])

    sim.state.add_listener(break_config)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main")
    assert result.code == 5, result.output
    assert result.stderr.rstrip().endswith(f"on {PROJECT_B} errored and will not run")


def test_verification_waits_for_a_workflow_that_comes_later(sim: SimServer, run: Run) -> None:
    def start_later(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            threading.Timer(1.0, sim.state.add_workflow, args=(event.pipeline_id, "test")).start()

    sim.state.add_listener(start_later)
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--start-timeout", "30")
    assert result.code == 0, result.output
    assert "started: test (running)" in result.stderr


AUTO_CANCEL = "with the project setting 'Auto-cancel redundant workflows' on, triggering it cancels this workflow"


@pytest.mark.parametrize(
    ("project", "branch", "warned"),
    [
        ("gh/acme/project-a", "feature", True),  # A's own project on A's non-default branch
        ("gh/acme/project-b", "feature", False),  # another project
        ("gh/acme/project-a", "main", False),  # the default branch is never auto-canceled
    ],
)
def test_triggering_a_own_branch_warns_of_auto_cancel_in_one_line(
    sim: SimServer, run: Run, project: str, branch: str, warned: bool
) -> None:
    from tests.helper.conftest import PROJECT_A, make_upstream

    for slug in (PROJECT_A, PROJECT_B):
        sim.state.add_project(slug, branches=("main", "feature"))
    start_workflows_on_trigger(sim)
    upstream_branch = "feature" if branch == "feature" else "main"
    pipeline = sim.state.create_pipeline(PROJECT_A, branch=upstream_branch)
    upstream = make_upstream(sim, pipeline_id=pipeline.id)
    result = run("trigger", "--project", project, "--branch", branch, "--upstream-workflow-id", upstream.workflow_id)
    assert result.code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if AUTO_CANCEL in line]
    if warned:
        assert lines == [
            f"cb-helper: warning: the downstream is this project ({project}) on this pipeline's branch 'feature', "
            f"not its default branch: {AUTO_CANCEL}, its hold included; trigger another branch, or turn the "
            "setting off"
        ]
    else:
        assert lines == []


def in_setup_on_trigger(sim: SimServer, setup_job_status: str) -> None:
    """Behave like a dynamic-config downstream: a setup phase whose setup workflow's job has ``setup_job_status``."""

    def on_event(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered":
            sim.state.begin_setup(event.pipeline_id)
            workflow = sim.state.add_workflow(event.pipeline_id, "setup")
            sim.state.add_job(workflow.id, "generate-config", status=setup_job_status)
            sim.state.set_pipeline_state(event.pipeline_id, "setup")

    sim.state.add_listener(on_event)


def test_a_pipeline_whose_setup_workflow_runs_has_started(sim: SimServer, run: Run) -> None:
    in_setup_on_trigger(sim, "running")
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--json")
    assert result.code == 0, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert f"pipeline {pipeline.id} started: setup (running); a dynamic config: its setup workflow continues it" in (
        result.stderr
    )
    data = json.loads(result.stdout)
    assert (data["state"], [w["name"] for w in data["workflows"]]) == ("setup", ["setup"])


def test_a_setup_workflow_that_failed_without_continuing_fails_the_trigger_at_once(sim: SimServer, run: Run) -> None:
    in_setup_on_trigger(sim, "failed")
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--start-timeout", "60")
    assert result.code == 5, result.output
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert (
        f"pipeline {pipeline.id} on {PROJECT_B} ended its setup without continuing: setup workflow setup (failed); "
        "it will run nothing and never circle back"
    ) in result.stderr
