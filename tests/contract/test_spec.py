"""The spec copy, the validator, and a tour of every served operation checked against the spec."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cb_helper.sim import SimServer, SimState
from cb_helper.sim import routes as sim_routes
from tests.contract.spec import (
    SERVED,
    SPEC_PATH,
    ContractChecker,
    match_template,
    raw_spec,
    relaxed_spec,
    warm_up,
)

SHA256 = "f72141ad9f3780c3ef9d74c904344a23958aa20bcd723e0df87e12c856a3a018"
PROJECT = "gh/acme/tour"


def test_the_spec_is_the_recorded_copy() -> None:
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == SHA256
    assert len(raw_spec()["paths"]) == 77
    assert SHA256 in SPEC_PATH.with_name("SOURCE.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("method", "template"), SERVED)
def test_every_served_operation_is_in_the_spec(method: str, template: str) -> None:
    assert method.lower() in raw_spec()["paths"][template]


def test_only_the_documented_relaxations_are_applied() -> None:
    def job_started_at(spec: dict[str, Any]) -> dict[str, Any]:
        content = spec["paths"]["/workflow/{id}/job"]["get"]["responses"]["200"]["content"]
        items = content["application/json"]["schema"]["properties"]["items"]["items"]
        started: dict[str, Any] = items["properties"]["started_at"]
        return started

    assert "nullable" not in job_started_at(raw_spec())
    assert job_started_at(relaxed_spec())["nullable"] is True
    token = relaxed_spec()["paths"]["/pipeline/{pipeline-id}/workflow"]["get"]["responses"]["200"]
    schema = token["content"]["application/json"]["schema"]["properties"]["next_page_token"]
    assert schema["x-nullable"] is True
    assert schema["nullable"] is True

    def config_fields(spec: dict[str, Any]) -> set[str]:
        return set(spec["components"]["schemas"]["pipelineRequest"]["properties"]["config"]["properties"])

    assert config_fields(raw_spec()) == {"branch", "tag"}
    assert config_fields(relaxed_spec()) == {"branch", "tag", "content"}
    assert (
        "nullable"
        not in raw_spec()["paths"]["/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
            "properties"
        ]["avatar_url"]
    )


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/project/gh/acme/x/pipeline", "/project/{project-slug}/pipeline"),
        ("POST", "/project/gh%2Facme%2Fx/pipeline", "/project/{project-slug}/pipeline"),
        ("POST", "/project/gh/acme/x/pipeline/run", "/project/{provider}/{organization}/{project}/pipeline/run"),
        ("GET", "/project/gh/acme/x/12/tests", "/project/{project-slug}/{job-number}/tests"),
        ("GET", "/workflow/abc/job", "/workflow/{id}/job"),
        ("GET", "/workflow/abc/jobs", None),
        ("DELETE", "/me", None),
    ],
)
def test_paths_map_to_their_templates(method: str, path: str, expected: str | None) -> None:
    found = match_template(method, path)
    assert (found[0] if found else None) == expected


@pytest.fixture
def server() -> Iterator[tuple[SimServer, ContractChecker]]:
    warm_up()
    state = SimState(page_size=2)
    state.add_project(PROJECT)
    checker = ContractChecker()
    with SimServer(state) as running:
        running.observers.append(checker)
        yield running, checker
    assert not running.internal_errors


def _seen(sim: SimServer) -> set[tuple[str, str]]:
    seen = set()
    for record in sim.state.request_log:
        found = match_template(record.method, record.path)
        if found:
            seen.add((record.method, found[0]))
    return seen


def test_a_tour_of_every_operation_conforms(server: tuple[SimServer, ContractChecker]) -> None:
    sim, checker = server
    state = sim.state
    http = requests.Session()
    http.headers["Circle-Token"] = sim.token
    api = sim.url + "/api/v2"
    pid = http.post(f"{api}/project/{PROJECT}/pipeline", json={"branch": "main", "parameters": {"a": 1}}).json()["id"]
    run_body = {"config": {"content": ""}, "checkout": {"tag": "v1"}}
    run = http.post(f"{api}/project/{PROJECT}/pipeline/run", json=run_body)
    assert run.status_code == 201
    state.create_pipeline(PROJECT)
    state.mark_pipeline_errored(run.json()["id"], [("config", "Unexpected argument(s): a")])
    workflow = state.add_workflow(pid, "build")
    build = state.add_job(workflow.id, "build")
    blocked = state.add_job(workflow.id, "later", requires={build.id: ["success", "failed"]})
    hold = state.add_job(workflow.id, "hold", type="approval", requires={build.id: ["success"]})
    state.add_job(workflow.id, "not-run", status="not_run")
    state.set_job_status(build.id, "running")
    assert http.get(f"{api}/workflow/{workflow.id}/job").json()["next_page_token"]
    state.set_job_status(build.id, "success")
    state.set_job_status(hold.id, "on_hold")
    assert http.post(f"{api}/workflow/{workflow.id}/approve/{hold.id}").status_code == 202
    assert http.post(f"{api}/workflow/{workflow.id}/approve/{hold.id}").status_code == 409
    state.set_job_status(blocked.id, "failed")
    number = state.get_job(build.id).job_number
    state.add_artifact(PROJECT, number or 0, "out/report.txt")
    state.add_artifact(PROJECT, number or 0, "out/more.txt", node_index=1)
    state.add_artifact(PROJECT, number or 0, "out/last.txt")
    state.add_test_result(PROJECT, number or 0, name="t", classname="c", result="success", run_time=0.25)
    rerun = http.post(f"{api}/workflow/{workflow.id}/rerun", json={"from_failed": True})
    assert rerun.status_code == 202
    assert http.post(f"{api}/workflow/{rerun.json()['workflow_id']}/cancel").status_code == 202
    in_setup = state.create_pipeline(PROJECT)
    key = state.begin_setup(in_setup.id)
    continued = http.post(f"{api}/pipeline/continue", json={"continuation-key": key, "configuration": "version: 2.1"})
    assert continued.status_code == 200
    pages = [http.get(f"{api}/project/{PROJECT}/pipeline")]
    pages.append(
        http.get(f"{api}/project/{PROJECT}/pipeline", params={"page-token": pages[0].json()["next_page_token"]})
    )
    for path in (
        f"/pipeline/{pid}",
        f"/pipeline/{run.json()['id']}",
        f"/pipeline/{pid}/workflow",
        f"/workflow/{workflow.id}",
        f"/workflow/{rerun.json()['workflow_id']}",
        f"/project/{PROJECT}/{number}/artifacts",
        f"/project/{PROJECT}/{number}/tests",
        f"/project/{PROJECT}/job/{number}",
        f"/project/{PROJECT}/pipeline/1",
        f"/project/{PROJECT}",
        "/me",
    ):
        assert http.get(api + path).status_code == 200, path
    for path in (f"/pipeline/{build.id}", f"/workflow/{pid}/job", f"/project/{PROJECT}/99/tests"):
        assert http.get(api + path).status_code == 404, path
    assert http.get(f"{api}/me", headers={"Circle-Token": "wrong"}).status_code == 401
    http.close()
    assert _seen(sim) == set(SERVED)
    assert checker.mismatches == []
    assert checker.checked == len(state.request_log)


def test_a_response_that_breaks_the_spec_is_caught(
    server: tuple[SimServer, ContractChecker], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, checker = server

    def broken_job(job: Any) -> dict[str, Any]:
        return {"id": job.id, "status": "finished"}

    monkeypatch.setattr(sim_routes, "job_json", broken_job)
    workflow = sim.state.add_workflow(sim.state.create_pipeline(PROJECT).id, "w")
    sim.state.add_job(workflow.id, "j")
    requests.get(f"{sim.url}/api/v2/workflow/{workflow.id}/job", headers={"Circle-Token": sim.token}, timeout=5)
    assert len(checker.mismatches) == 1
    assert "'finished' is not one of" in checker.mismatches[0]
    assert "'name' is a required property" in checker.mismatches[0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"json": {"branch": "main", "unexpected": True}}, "unexpected"),
        ({"json": {"definition_id": "nope"}}, "uuid"),
        ({"data": '{"config": {"branch": "main"}}'}, "mimetype"),
    ],
)
def test_a_request_that_breaks_the_spec_is_caught(
    server: tuple[SimServer, ContractChecker], kwargs: dict[str, Any], fragment: str
) -> None:
    sim, checker = server
    requests.post(
        f"{sim.url}/api/v2/project/{PROJECT}/pipeline/run", headers={"Circle-Token": sim.token}, timeout=5, **kwargs
    )
    assert len(checker.mismatches) == 1
    assert fragment in checker.mismatches[0].lower()


def test_bearer_only_auth_is_not_in_this_spec(server: tuple[SimServer, ContractChecker]) -> None:
    sim, checker = server
    answer = requests.get(f"{sim.url}/api/v2/me", headers={"Authorization": f"Bearer {sim.token}"}, timeout=5)
    assert answer.status_code == 200  # the simulator accepts it, as CircleCI's newer docs say
    assert len(checker.mismatches) == 1
    assert "Security" in checker.mismatches[0]
    assert sim.token not in checker.mismatches[0]


def test_injected_faults_are_not_held_against_the_simulator(server: tuple[SimServer, ContractChecker]) -> None:
    sim, checker = server
    sim.faults.add("POST /project/*/pipeline/run", "status", status=429, retry_after=1)
    sim.faults.add("GET /me", "truncate")
    headers = {"Circle-Token": sim.token}
    assert (
        requests.post(f"{sim.url}/api/v2/project/{PROJECT}/pipeline/run", json={}, headers=headers).status_code == 429
    )
    assert requests.get(f"{sim.url}/api/v2/me", headers=headers, timeout=5).status_code == 200
    assert checker.mismatches == []
    assert checker.checked == 2
