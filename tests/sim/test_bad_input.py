"""Bad input to the simulator gets CircleCI's 400/404 answers, before any change, and never a 500."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cb_helper.sim import SimServer
from tests.conftest import PROJECT_B

pytestmark = pytest.mark.sim_bad_requests

UNEXPECTED = {"message": "Unexpected request body provided."}
LEGACY = f"/project/{PROJECT_B}/pipeline"
RUN = f"/project/{PROJECT_B}/pipeline/run"


@pytest.fixture
def post(sim: SimServer) -> Iterator[Any]:
    session = requests.Session()
    session.headers.update({"Circle-Token": sim.token, "Content-Type": "application/json"})

    def send(path: str, body: Any = None, *, raw: bytes | None = None) -> requests.Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return session.post(sim.url + "/api/v2" + path, data=data, timeout=5)

    yield send
    session.close()
    assert sim.state.pipelines_of(PROJECT_B) == [], "a refused trigger still created a pipeline"


@pytest.mark.parametrize("path", [LEGACY, RUN])
@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"branch"', b"\xff\xfe", b'{"parameters": [1]}'])
def test_malformed_bodies_are_unexpected(post: Any, path: str, raw: bytes) -> None:
    response = post(path, raw=raw)
    assert (response.status_code, response.json()) == (400, UNEXPECTED)


@pytest.mark.parametrize(
    "body",
    [
        {"branch": "main", "unknown": 1},
        {"config": {"branch": "main", "extra": True}},
        {"checkout": {"sha": "abc"}},
        {"config": "main"},
        {"definition_id": "not-a-uuid"},
        {"definition_id": 7},
        {"parameters": {"a": 1.5}},
        {"parameters": {"a": None}},
        {"config": {"branch": 3}},
    ],
)
def test_pipeline_run_refuses_what_its_schema_forbids(post: Any, body: Any) -> None:
    response = post(RUN, body)
    assert (response.status_code, response.json()) == (400, UNEXPECTED)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LEGACY, {"branch": "main", "tag": "v1"}),
        (RUN, {"config": {"branch": "main", "tag": "v1"}}),
        (RUN, {"checkout": {"branch": "main", "tag": "v1"}}),
    ],
)
def test_branch_and_tag_together_are_refused(post: Any, path: str, body: Any) -> None:
    response = post(path, body)
    assert response.status_code == 400
    assert "branch" in response.json()["message"]


@pytest.mark.parametrize("path", [LEGACY, RUN])
def test_unknown_branch_is_not_found(post: Any, path: str) -> None:
    body = {"branch": "nope"} if path == LEGACY else {"config": {"branch": "nope"}}
    response = post(path, body)
    assert (response.status_code, response.json()) == (400, {"message": "Branch not found"})


def test_a_wrong_definition_id_is_not_found(post: Any) -> None:
    response = post(RUN, {"definition_id": str(uuid.uuid4())})
    assert response.status_code == 404


@pytest.mark.parametrize("path", [LEGACY, RUN])
@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({f"p{i}": i for i in range(101)}, "at most 100"),
        ({"k" * 129: "v"}, "at most 128"),
        ({"k": "v" * 513}, "at most 512"),
    ],
)
def test_parameter_limits(post: Any, path: str, parameters: dict[str, Any], fragment: str) -> None:
    response = post(path, {"parameters": parameters})
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_parameters_at_the_limits_pass(sim: SimServer) -> None:
    parameters: dict[str, Any] = {f"p{i:03d}": "v" * 512 for i in range(99)}
    parameters["k" * 128] = True
    response = requests.post(
        sim.url + "/api/v2" + LEGACY, headers={"Circle-Token": sim.token}, json={"parameters": parameters}, timeout=5
    )
    assert response.status_code == 201
    pipeline = sim.state.get_pipeline(response.json()["id"])
    assert len(pipeline.parameters) == 100


def test_pull_request_refs_are_known_branches(sim: SimServer) -> None:
    response = requests.post(
        sim.url + "/api/v2/project/gh/acme/project-a/pipeline",
        headers={"Circle-Token": sim.token},
        json={"branch": "pull/42/head"},
        timeout=5,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/pipeline/not-a-uuid",
        "/pipeline/not-a-uuid/workflow",
        "/workflow/123",
        "/workflow/123/job",
        "/pipeline/5034460f-c7c4-4c43-9457-de07e2029e7b",
        "/workflow/5034460f-c7c4-4c43-9457-de07e2029e7b/job",
        f"/project/{PROJECT_B}/abc/artifacts",
        f"/project/{PROJECT_B}/0/tests",
        "/project/gh/acme/nope/pipeline",
        "/project/not-a-slug/pipeline",
    ],
)
def test_unknown_or_malformed_ids_are_not_found(sim: SimServer, path: str) -> None:
    response = requests.get(sim.url + "/api/v2" + path, headers={"Circle-Token": sim.token}, timeout=5)
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


def test_approve_and_cancel_with_bad_ids(sim: SimServer, post: Any) -> None:
    workflow = sim.state.add_workflow(sim.state.create_pipeline("gh/acme/project-a").id, "w")
    assert post(f"/workflow/{workflow.id}/approve/not-a-uuid").status_code == 404
    assert post(f"/workflow/nope/approve/{uuid.uuid4()}").status_code == 404
    assert post("/workflow/nope/cancel").status_code == 404
    assert post(f"/workflow/{uuid.uuid4()}/rerun").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"from_failed": "yes"},
        {"jobs": ["not-a-uuid"]},
        {"jobs": "all"},
        {"from_failed": True, "jobs": []},
        {"enable_ssh": True},
        {"sparse_tree": True},
        [1],
    ],
)
def test_rerun_refuses_bad_bodies(sim: SimServer, post: Any, body: Any) -> None:
    workflow = sim.state.add_workflow(sim.state.create_pipeline("gh/acme/project-a").id, "w")
    sim.state.add_job(workflow.id, "j", status="failed")
    response = post(f"/workflow/{workflow.id}/rerun", body)
    assert response.status_code == 400
    assert len(sim.state.workflows_of(workflow.pipeline_id)) == 1


def test_rerun_of_unknown_jobs_or_with_nothing_failed(sim: SimServer, post: Any) -> None:
    workflow = sim.state.add_workflow(sim.state.create_pipeline("gh/acme/project-a").id, "w")
    sim.state.add_job(workflow.id, "j", status="success")
    assert post(f"/workflow/{workflow.id}/rerun", {"jobs": [str(uuid.uuid4())]}).status_code == 400
    assert post(f"/workflow/{workflow.id}/rerun", {"from_failed": True}).status_code == 400
    assert len(sim.state.workflows_of(workflow.pipeline_id)) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=8,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    path=st.sampled_from([LEGACY, RUN, "/workflow/{wf}/rerun", "/workflow/{wf}/approve/{wf}"]),
)
def test_no_body_crashes_the_simulator(sim: SimServer, body: bytes, path: str) -> None:
    workflow = sim.state.add_workflow(sim.state.create_pipeline("gh/acme/project-a").id, "w")
    response = requests.post(
        sim.url + "/api/v2" + path.format(wf=workflow.id),
        headers={"Circle-Token": sim.token, "Content-Type": "application/json"},
        data=body,
        timeout=5,
    )
    assert response.status_code < 500
    assert isinstance(response.json()["message" if response.status_code >= 400 else "id"], str)
    assert not sim.internal_errors


@pytest.mark.parametrize("number", ["²", "١٢", "+3", " 4"])
def test_a_job_number_that_is_not_ascii_digits_is_not_found(sim: SimServer, number: str) -> None:
    workflow = sim.state.add_workflow(sim.state.create_pipeline(PROJECT_B).id, "w")
    for _ in range(12):
        sim.state.add_job(workflow.id, "j", status="success")
    response = requests.get(
        sim.url + f"/api/v2/project/{PROJECT_B}/{number}/artifacts", headers={"Circle-Token": sim.token}, timeout=5
    )
    assert (response.status_code, response.json()) == (404, {"message": "Job not found"})


@pytest.mark.parametrize("path", [LEGACY, RUN])
def test_deeply_nested_json_is_unexpected(post: Any, path: str) -> None:
    response = post(path, raw=b"[" * 100_000)
    assert (response.status_code, response.json()) == (400, UNEXPECTED)


def _raw_exchange(sim: SimServer, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send one hand-written HTTP/1.1 request; the status and body of the answer."""
    host, port = sim.url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        reader = conn.makefile("rb")
        status = int(reader.readline().split()[1])
        length = 0
        for line in iter(reader.readline, b"\r\n"):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, reader.read(length)


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_is_a_400(sim: SimServer, length: str) -> None:
    head = (
        f"POST /api/v2{LEGACY} HTTP/1.1\nHost: sim\nCircle-Token: {sim.token}\n"
        f"Content-Type: application/json\nContent-Length: {length}\nConnection: close\n"
    )
    status, body = _raw_exchange(sim, head, b"{}")
    assert status == 400
    assert set(json.loads(body)) == {"message"}
    assert sim.state.pipelines_of(PROJECT_B) == []
    assert [r.status for r in sim.state.request_log] == [400]


def test_a_chunked_body_is_read(sim: SimServer) -> None:
    sim.state.add_project(PROJECT_B, branches=("main", "dev"))
    head = (
        f"POST /api/v2{LEGACY} HTTP/1.1\nHost: sim\nCircle-Token: {sim.token}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\nConnection: close\n"
    )
    chunks = b'b\r\n{"branch": \r\n6\r\n"dev"}\r\n0\r\n\r\n'
    status, body = _raw_exchange(sim, head, chunks)
    assert status == 201, body
    (pipeline,) = sim.state.pipelines_of(PROJECT_B)
    assert pipeline.branch == "dev"


def test_a_bad_chunked_body_is_a_400(sim: SimServer) -> None:
    head = (
        f"POST /api/v2{LEGACY} HTTP/1.1\nHost: sim\nCircle-Token: {sim.token}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\nConnection: close\n"
    )
    status, body = _raw_exchange(sim, head, b"zz\r\n{}\r\n0\r\n\r\n")
    assert (status, json.loads(body)) == (400, UNEXPECTED)
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_a_bug_outside_the_routes_still_gets_an_answer_and_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    with SimServer() as server:

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(server.faults, "take", broken)
        response = requests.get(server.url + "/api/v2/me", headers={"Circle-Token": server.token}, timeout=5)
        assert (response.status_code, response.json()) == (500, {"message": "Internal server error."})
        assert len(server.internal_errors) == 1
        assert "RuntimeError: boom" in server.internal_errors[0]
