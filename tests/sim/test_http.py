"""The simulator over real HTTP: routes, auth, pagination, approvals, and the request log.

Every exchange here is also validated against CircleCI's spec by the ``sim`` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cb_helper.sim import SimServer
from tests.conftest import PROJECT_A, PROJECT_B


@pytest.fixture
def http(sim: SimServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Circle-Token"] = sim.token
    yield session
    session.close()


def api(sim: SimServer, path: str) -> str:
    return sim.url + "/api/v2" + path


def trigger(sim: SimServer, http: requests.Session, body: Any = None, slug: str = PROJECT_B) -> dict[str, Any]:
    response = http.post(api(sim, f"/project/{slug}/pipeline"), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_trigger_answers_201_with_the_creation_shape(sim: SimServer, http: requests.Session) -> None:
    created = trigger(sim, http, {"branch": "main", "parameters": {"upstream": "x", "n": 3, "go": True}})
    assert set(created) == {"id", "state", "number", "created_at"}
    assert created["state"] == "created"
    assert created["number"] == 1
    pipeline = sim.state.get_pipeline(created["id"])
    assert pipeline.parameters == {"upstream": "x", "n": 3, "go": True}
    assert pipeline.branch == "main"
    assert sim.state.workflows_of(pipeline.id) == []  # no workflow until a driver adds one
    body = http.get(api(sim, f"/pipeline/{created['id']}")).json()
    assert body["trigger_parameters"] == {"upstream": "x", "n": 3, "go": True}
    assert body["vcs"]["branch"] == "main"
    assert body["trigger"]["type"] == "api"
    assert body["errors"] == []
    assert body["number"] == 1


def test_trigger_with_an_empty_body_uses_the_default_branch(sim: SimServer, http: requests.Session) -> None:
    response = http.post(api(sim, f"/project/{PROJECT_A}/pipeline"), headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert sim.state.get_pipeline(response.json()["id"]).branch == "main"


def test_escaped_slug_reaches_the_same_project(sim: SimServer, http: requests.Session) -> None:
    created = trigger(sim, http, {"tag": "v1.2.0"}, slug="gh%2Facme%2Fproject-b")
    pipeline = sim.state.get_pipeline(created["id"])
    assert pipeline.project_slug == PROJECT_B
    assert pipeline.tag == "v1.2.0"


def test_pipeline_run_triggers_with_definition_and_refs(sim: SimServer, http: requests.Session) -> None:
    definition = sim.state.get_project(PROJECT_B).definition_id
    body = {
        "definition_id": definition,
        "config": {"branch": "main"},
        "checkout": {"branch": "main"},
        "parameters": {"x": "1"},
    }
    response = http.post(api(sim, f"/project/{PROJECT_B}/pipeline/run"), json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "state", "number", "created_at"}
    pipeline = sim.state.get_pipeline(response.json()["id"])
    assert pipeline.parameters == {"x": "1"}
    assert pipeline.run_request["definition_id"] == definition


def test_pipeline_run_on_a_ci_skip_commit_answers_200_not_triggered(sim: SimServer, http: requests.Session) -> None:
    sim.state.add_project("circleci/org1/proj1", branches=("main", "wip"), ci_skip_branches=("wip",))
    seen: list[str] = []
    sim.state.add_listener(lambda event: seen.append(event.kind))
    body = {"config": {"branch": "wip"}, "checkout": {"branch": "wip"}}
    response = http.post(api(sim, "/project/circleci/org1/proj1/pipeline/run"), json=body)
    assert response.status_code == 200
    assert response.json() == {"message": "Ignoring pipeline due to CI skip in the commit"}
    assert sim.state.pipelines_of("circleci/org1/proj1") == []
    assert seen == []
    main = http.post(api(sim, "/project/circleci/org1/proj1/pipeline/run"), json={"config": {"branch": "main"}})
    assert main.status_code == 201


def test_triggers_notify_listeners(sim: SimServer, http: requests.Session) -> None:
    seen: list[str] = []
    sim.state.add_listener(lambda event: seen.append(f"{event.kind}:{event.pipeline_id}"))
    created = trigger(sim, http)
    response = http.post(api(sim, f"/project/{PROJECT_A}/pipeline/run"), json={})
    assert seen == [f"pipeline_triggered:{created['id']}", f"pipeline_triggered:{response.json()['id']}"]


def test_workflows_and_jobs_are_served_with_derived_status(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    pid = trigger(sim, http)["id"]
    workflow = state.add_workflow(pid, "build")
    build = state.add_job(workflow.id, "build", status="running")
    hold = state.add_job(workflow.id, "hold", type="approval", requires={build.id: ["success", "failed"]})
    listed = http.get(api(sim, f"/pipeline/{pid}/workflow")).json()
    assert listed["next_page_token"] is None
    assert [(w["id"], w["status"]) for w in listed["items"]] == [(workflow.id, "running")]
    state.set_job_status(build.id, "success")
    state.set_job_status(hold.id, "on_hold")
    assert http.get(api(sim, f"/workflow/{workflow.id}")).json()["status"] == "on_hold"
    jobs = http.get(api(sim, f"/workflow/{workflow.id}/job")).json()["items"]
    by_name = {job["name"]: job for job in jobs}
    assert by_name["build"]["job_number"] == 1
    assert by_name["build"]["status"] == "success"
    assert by_name["hold"]["approval_request_id"] == by_name["hold"]["id"] == hold.id
    assert "job_number" not in by_name["hold"]
    assert by_name["hold"]["dependencies"] == [build.id]
    assert by_name["hold"]["requires"] == {build.id: ["success", "failed"]}


def test_approve_answers_202_accepted_then_refuses_a_second_time(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    workflow = state.add_workflow(state.create_pipeline(PROJECT_A).id, "build")
    hold = state.add_job(workflow.id, "hold", type="approval", status="on_hold")
    build = state.add_job(workflow.id, "build", status="running")
    url = api(sim, f"/workflow/{workflow.id}/approve/{hold.id}")
    first = http.post(url)
    assert (first.status_code, first.json()) == (202, {"message": "Accepted."})
    job = state.get_job(hold.id)
    assert job.status == "success"
    user = state.user_for_token(sim.token)
    assert user is not None
    assert job.approved_by == user.id
    again = http.post(url)
    assert again.status_code == 409
    assert again.json()["message"]
    not_approval = http.post(api(sim, f"/workflow/{workflow.id}/approve/{build.id}"))
    assert not_approval.status_code == 400
    assert "approval" in not_approval.json()["message"]
    unknown = http.post(api(sim, f"/workflow/{workflow.id}/approve/{uuid.uuid4()}"))
    assert unknown.status_code == 404
    other_workflow = state.add_workflow(state.create_pipeline(PROJECT_A).id, "other")
    elsewhere = http.post(api(sim, f"/workflow/{other_workflow.id}/approve/{hold.id}"))
    assert elsewhere.status_code == 404
    approvals = [r for r in state.request_log if "/approve/" in r.path]
    assert [r.status for r in approvals] == [202, 409, 400, 404, 404]


def test_cancel_and_rerun(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    pid = state.create_pipeline(PROJECT_B).id
    workflow = state.add_workflow(pid, "test")
    state.add_job(workflow.id, "unit", status="running")
    early = http.post(api(sim, f"/workflow/{workflow.id}/rerun"), json={})
    assert early.status_code == 400  # still running
    canceled = http.post(api(sim, f"/workflow/{workflow.id}/cancel"))
    assert (canceled.status_code, canceled.json()) == (202, {"message": "Accepted."})
    body = http.get(api(sim, f"/workflow/{workflow.id}")).json()
    assert body["status"] == "canceled"
    assert body["canceled_by"]
    (unit,) = http.get(api(sim, f"/workflow/{workflow.id}/job")).json()["items"]
    assert (unit["status"], unit["canceled_by"]) == ("canceled", body["canceled_by"])
    assert body["stopped_at"]
    rerun = http.post(api(sim, f"/workflow/{workflow.id}/rerun"), json={"from_failed": True})
    assert rerun.status_code == 202, rerun.text
    new_id = rerun.json()["workflow_id"]
    assert [w["id"] for w in http.get(api(sim, f"/pipeline/{pid}/workflow")).json()["items"]] == [
        new_id,
        workflow.id,
    ]
    assert state.get_workflow(new_id).name == "test"


def test_artifacts_and_tests(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    workflow = state.add_workflow(state.create_pipeline(PROJECT_B).id, "test")
    job = state.add_job(workflow.id, "unit", status="success")
    number = job.job_number
    assert number is not None
    state.add_artifact(PROJECT_B, number, "result.json", url="http://example.invalid/result.json")
    state.add_test_result(PROJECT_B, number, name="t1", classname="suite", result="failure", message="boom")
    artifacts = http.get(api(sim, f"/project/{PROJECT_B}/{number}/artifacts")).json()
    assert artifacts == {
        "items": [{"path": "result.json", "node_index": 0, "url": "http://example.invalid/result.json"}],
        "next_page_token": None,
    }
    tests = http.get(api(sim, f"/project/{PROJECT_B}/{number}/tests")).json()["items"]
    assert tests[0]["name"] == "t1"
    assert tests[0]["message"] == "boom"
    assert tests[0]["run_time"] == 0.0
    missing = http.get(api(sim, f"/project/{PROJECT_B}/{number + 50}/artifacts"))
    assert missing.status_code == 404


def test_me_with_header_or_basic_auth(sim: SimServer) -> None:
    by_header = requests.get(api(sim, "/me"), headers={"Circle-Token": sim.token}, timeout=5)
    by_basic = requests.get(api(sim, "/me"), auth=(sim.token, ""), timeout=5)
    assert by_header.status_code == by_basic.status_code == 200
    assert by_header.json() == by_basic.json()
    assert set(by_header.json()) == {"id", "login", "name", "avatar_url"}


def test_a_bad_token_gets_401(sim: SimServer) -> None:
    for path in ("/me", f"/project/{PROJECT_B}/pipeline"):
        response = requests.get(api(sim, path), headers={"Circle-Token": "wrong"}, timeout=5)
        assert (response.status_code, response.json()) == (401, {"message": "Invalid token provided."})


@pytest.mark.sim_bad_requests
def test_no_token_gets_project_not_found_and_query_tokens_are_refused(sim: SimServer) -> None:
    anonymous = requests.get(api(sim, f"/project/{PROJECT_B}/pipeline"), timeout=5)
    assert (anonymous.status_code, anonymous.json()) == (404, {"message": "Project not found"})
    assert requests.get(api(sim, "/me"), timeout=5).status_code == 401
    query = requests.get(api(sim, "/me"), params={"circle-token": sim.token}, timeout=5)
    assert query.status_code == 401
    assert "deprecated" in query.json()["message"]
    assert all(sim.token not in repr(record) for record in sim.state.request_log)


def test_a_token_without_access_sees_project_not_found(sim: SimServer, http: requests.Session) -> None:
    sim.state.add_token("outsider")
    sim.state.add_project("gh/acme/private", tokens=[sim.token])
    pid = sim.state.create_pipeline("gh/acme/private").id
    outsider = {"Circle-Token": "outsider"}
    for method, path in (
        ("POST", "/project/gh/acme/private/pipeline"),
        ("GET", "/project/gh/acme/private/pipeline"),
        ("POST", "/project/gh/acme/private/pipeline/run"),
    ):
        response = requests.request(method, api(sim, path), headers=outsider, json={}, timeout=5)
        assert (response.status_code, response.json()) == (404, {"message": "Project not found"})
    assert requests.get(api(sim, f"/pipeline/{pid}"), headers=outsider, timeout=5).status_code == 404
    assert http.get(api(sim, f"/pipeline/{pid}")).status_code == 200


def test_pagination_follows_next_page_token(sim: SimServer, http: requests.Session) -> None:
    sim.state.page_size = 3
    for _ in range(7):
        sim.state.create_pipeline(PROJECT_B)
    numbers: list[int] = []
    token = None
    pages = 0
    while True:
        params: dict[str, str] = {"page-token": token} if token else {}
        page = http.get(api(sim, f"/project/{PROJECT_B}/pipeline"), params=params).json()
        numbers += [item["number"] for item in page["items"]]
        pages += 1
        token = page["next_page_token"]
        if token is None:
            break
    assert numbers == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    first = http.get(api(sim, f"/project/{PROJECT_B}/pipeline"), params={"branch": "main"}).json()
    assert len(first["items"]) == 3
    assert first["next_page_token"]
    foreign = http.get(api(sim, f"/project/{PROJECT_A}/pipeline"), params={"page-token": first["next_page_token"]})
    assert (foreign.status_code, foreign.json()) == (404, {"message": "Not Found"})
    # The underscore spelling is not a page token: it is ignored and page 1 comes back.
    again = http.get(api(sim, f"/project/{PROJECT_B}/pipeline"), params={"page_token": first["next_page_token"]})
    assert [i["number"] for i in again.json()["items"]] == [7, 6, 5]


def test_jobs_list_pages_too(sim: SimServer, http: requests.Session) -> None:
    sim.state.page_size = 2
    workflow = sim.state.add_workflow(sim.state.create_pipeline(PROJECT_B).id, "big")
    for i in range(5):
        sim.state.add_job(workflow.id, f"job-{i}")
    names: list[str] = []
    token = None
    while True:
        page = http.get(api(sim, f"/workflow/{workflow.id}/job"), params={"page-token": token} if token else {})
        names += [job["name"] for job in page.json()["items"]]
        token = page.json()["next_page_token"]
        if not token:
            break
    assert names == [f"job-{i}" for i in range(5)]


def test_request_log_records_method_path_query_and_body(sim: SimServer, http: requests.Session) -> None:
    trigger(sim, http, {"branch": "main", "parameters": {"a": 1}})
    http.get(api(sim, f"/project/{PROJECT_B}/pipeline"), params={"branch": "main"})
    first, second = sim.state.request_log
    assert (first.method, first.path, first.body, first.status) == (
        "POST",
        f"/project/{PROJECT_B}/pipeline",
        {"branch": "main", "parameters": {"a": 1}},
        201,
    )
    assert (second.method, second.query, second.body, second.fault) == ("GET", {"branch": "main"}, None, None)
    assert sim.token not in repr(sim.state.request_log)
    sim.state.clear_request_log()
    assert sim.state.request_log == []


@pytest.mark.sim_bad_requests
def test_unknown_routes_and_methods(sim: SimServer, http: requests.Session) -> None:
    assert http.get(api(sim, "/nothing/here")).status_code == 404
    assert http.get(sim.url + "/elsewhere").status_code == 404
    assert http.delete(api(sim, "/me")).status_code == 405


def test_a_token_in_the_query_never_reaches_the_log_whatever_its_case(sim: SimServer, http: requests.Session) -> None:
    for name in ("circle-token", "Circle-Token", "CIRCLE-TOKEN"):
        response = http.get(api(sim, "/me"), params={name: sim.token, "x": "1"})
        assert response.status_code == 401
        assert "deprecated" in response.json()["message"]
    assert [r.query for r in sim.state.request_log] == [{"x": "1"}] * 3
    assert sim.token not in repr(sim.state.request_log)


def test_a_scheduled_pipeline_shows_the_api_s_trigger_type(sim: SimServer, http: requests.Session) -> None:
    pipeline = sim.state.create_pipeline(PROJECT_B, trigger_type="scheduled_pipeline", schedule_name="nightly")
    body = http.get(api(sim, f"/pipeline/{pipeline.id}")).json()
    assert body["trigger"]["type"] == "scheduled_pipeline"


def test_a_sparse_tree_rerun_leaves_out_the_parts_not_connected_to_the_chosen_jobs(
    sim: SimServer, http: requests.Session
) -> None:
    state = sim.state
    pipeline = state.create_pipeline(PROJECT_B)
    workflow = state.add_workflow(pipeline.id, "test")
    state.add_job(workflow.id, "lint", status="success")  # not connected to tests
    build = state.add_job(workflow.id, "build", status="success")
    tests = state.add_job(workflow.id, "tests", requires={build.id: ["success"]})
    state.set_job_status(tests.id, "failed")
    for sparse, names in ((False, ["lint", "build", "tests"]), (True, ["build", "tests"])):
        body = {"jobs": [tests.id], "sparse_tree": sparse}
        answer = http.post(api(sim, f"/workflow/{workflow.id}/rerun"), json=body)
        assert answer.status_code == 202, answer.text
        new = answer.json()["workflow_id"]
        jobs = {job["name"]: job["status"] for job in http.get(api(sim, f"/workflow/{new}/job")).json()["items"]}
        assert list(jobs) == names
        assert jobs["tests"] == "blocked"  # chosen: runs again
        assert jobs["build"] == "success"  # carried over
    refused = http.post(api(sim, f"/workflow/{workflow.id}/rerun"), json={"sparse_tree": True})
    assert refused.status_code == 400
