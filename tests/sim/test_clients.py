"""What CircleCI's own API client relies on: the request shapes it sends and the answers it parses.

Every exchange here is also validated against CircleCI's spec (with its documented relaxations) by
the ``sim`` fixture.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

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


@pytest.mark.parametrize("content", ["", "version: 2.1\n"])
def test_pipeline_run_accepts_config_content(sim: SimServer, http: requests.Session, content: str) -> None:
    body = {"config": {"branch": "main", "content": content}, "checkout": {"branch": "main"}, "parameters": {}}
    response = http.post(api(sim, f"/project/{PROJECT_B}/pipeline/run"), json=body)
    assert response.status_code == 201, response.text
    pipeline = sim.state.get_pipeline(response.json()["id"])
    assert pipeline.branch == "main"
    assert pipeline.run_request["config"]["content"] == content


@pytest.mark.sim_bad_requests
@pytest.mark.parametrize("config", [{"branch": "main", "content": 3}, {"branch": "main", "other": ""}])
def test_pipeline_run_still_refuses_other_config_fields(
    sim: SimServer, http: requests.Session, config: dict[str, object]
) -> None:
    response = http.post(api(sim, f"/project/{PROJECT_B}/pipeline/run"), json={"config": config})
    assert (response.status_code, response.json()) == (400, {"message": "Unexpected request body provided."})
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_a_passing_test_has_an_empty_message_not_null(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    job = state.add_job(state.add_workflow(state.create_pipeline(PROJECT_B).id, "w").id, "unit", status="success")
    assert job.job_number is not None
    state.add_test_result(PROJECT_B, job.job_number, name="ok", classname="suite", result="success")
    items = http.get(api(sim, f"/project/{PROJECT_B}/{job.job_number}/tests")).json()["items"]
    assert items[0]["message"] == ""


def _raw_exchange(sim: SimServer, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` on a fresh socket; the head of the answer and what followed until the server closed."""
    host, port = sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


def test_a_request_to_close_is_answered_with_connection_close(sim: SimServer) -> None:
    request = f"GET /api/v2/me HTTP/1.1\r\nHost: x\r\nCircle-Token: {sim.token}\r\nConnection: close\r\n\r\n"
    head, body = _raw_exchange(sim, request.encode())
    lines = head.decode().lower().split("\r\n")
    assert lines[0].startswith("http/1.1 200")
    assert "connection: close" in lines
    assert b'"login"' in body


def test_a_keep_alive_request_is_not_told_to_close(sim: SimServer) -> None:
    host, port = sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET /api/v2/me HTTP/1.1\r\nHost: x\r\nCircle-Token: {sim.token}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
    assert b"connection: close" not in head.lower()


def test_get_a_project(sim: SimServer, http: requests.Session) -> None:
    body = http.get(api(sim, f"/project/{PROJECT_B}")).json()
    assert body["slug"] == PROJECT_B
    assert body["name"] == "project-b"
    assert body["organization_name"] == "acme"
    assert body["organization_slug"] == "gh/acme"
    assert body["vcs_info"] == {
        "vcs_url": "https://github.com/acme/project-b",
        "provider": "GitHub",
        "default_branch": "main",
    }
    assert http.get(api(sim, "/project/gh%2Facme%2Fproject-b")).json() == body
    other = http.get(api(sim, f"/project/{PROJECT_A}")).json()
    assert other["id"] != body["id"]
    assert other["organization_id"] == body["organization_id"]
    missing = http.get(api(sim, "/project/gh/acme/nothing"))
    assert (missing.status_code, missing.json()) == (404, {"message": "Project not found"})


def test_get_a_pipeline_by_number(sim: SimServer, http: requests.Session) -> None:
    first = http.post(api(sim, f"/project/{PROJECT_B}/pipeline"), json={"branch": "main"}).json()
    second = http.post(api(sim, f"/project/{PROJECT_B}/pipeline"), json={}).json()
    http.post(api(sim, f"/project/{PROJECT_A}/pipeline"), json={})
    assert http.get(api(sim, f"/project/{PROJECT_B}/pipeline/1")).json()["id"] == first["id"]
    by_number = http.get(api(sim, f"/project/{PROJECT_B}/pipeline/2")).json()
    assert by_number == http.get(api(sim, f"/pipeline/{second['id']}")).json()
    for number in ("3", "0", "x"):
        missing = http.get(api(sim, f"/project/{PROJECT_B}/pipeline/{number}"))
        assert missing.status_code == 404, number


def test_get_job_details(sim: SimServer, http: requests.Session) -> None:
    state = sim.state
    pipeline = state.create_pipeline(PROJECT_B)
    workflow = state.add_workflow(pipeline.id, "build-and-test")
    job = state.add_job(workflow.id, "unit")
    state.set_job_status(job.id, "running")
    number = state.get_job(job.id).job_number
    running = http.get(api(sim, f"/project/{PROJECT_B}/job/{number}")).json()
    assert running["number"] == number
    assert running["name"] == "unit"
    assert running["status"] == "running"
    assert running["duration"] is None
    assert running["stopped_at"] is None
    assert running["pipeline"] == {"id": pipeline.id}
    assert running["latest_workflow"] == {"id": workflow.id, "name": "build-and-test"}
    assert running["project"]["slug"] == PROJECT_B
    state.set_job_status(job.id, "failed")
    failed = http.get(api(sim, f"/project/{PROJECT_B}/job/{number}")).json()
    assert failed["status"] == "failed"
    assert isinstance(failed["duration"], int)
    assert failed["stopped_at"] is not None
    missing = http.get(api(sim, f"/project/{PROJECT_B}/job/{(number or 0) + 1}"))
    assert (missing.status_code, missing.json()) == (404, {"message": "Job not found"})
    assert http.get(api(sim, f"/project/{PROJECT_A}/job/{number}")).status_code == 404
