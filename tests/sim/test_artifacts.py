"""Artifact downloads: the ``url`` an artifact list gives is served by the simulator itself, with the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from cb_helper.sim import SimServer, SimState
from tests.conftest import PROJECT_B


def _job_number(state: SimState, slug: str = PROJECT_B) -> int:
    workflow = state.add_workflow(state.create_pipeline(slug).id, "build")
    number = state.add_job(workflow.id, "report", status="success").job_number
    assert number is not None
    return number


def _listed(server: SimServer, slug: str, number: int) -> list[dict[str, Any]]:
    response = requests.get(
        f"{server.api_url}/project/{slug}/{number}/artifacts", headers={"Circle-Token": server.token}, timeout=5
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_listed_url_downloads_the_content_with_the_token(sim: SimServer) -> None:
    number = _job_number(sim.state)
    sim.state.add_artifact(PROJECT_B, number, "out/digest.json", content=b'{"image_digest": "sha256:abc"}')
    sim.state.add_artifact(PROJECT_B, number, "out/my report \u00fc.txt", node_index=1, content=b"line\n")
    first, second = _listed(sim, PROJECT_B, number)
    assert first["url"] == f"{sim.url}/output/job/{PROJECT_B}/{number}/artifacts/0/out/digest.json"
    assert second["url"].startswith(f"{sim.url}/output/job/{PROJECT_B}/{number}/artifacts/1/out/my%20report%20")

    by_header = requests.get(first["url"], headers={"Circle-Token": sim.token}, timeout=5)
    by_basic = requests.get(first["url"], auth=(sim.token, ""), timeout=5)
    assert by_header.status_code == by_basic.status_code == 200
    assert by_header.content == by_basic.content == b'{"image_digest": "sha256:abc"}'
    assert by_header.headers["Content-Type"] == "application/json"
    other = requests.get(second["url"], headers={"Circle-Token": sim.token}, timeout=5)
    assert (other.status_code, other.content, other.headers["Content-Type"]) == (200, b"line\n", "text/plain")
    assert sim.state.artifacts_of(PROJECT_B, number)[0].url == first["url"]  # type: ignore[index]


def test_downloads_are_refused_without_a_good_token_and_hidden_from_other_projects(sim: SimServer) -> None:
    sim.state.add_token("other-token")
    sim.state.add_project("gh/acme/private", tokens=[sim.token])
    number = _job_number(sim.state, "gh/acme/private")
    sim.state.add_artifact("gh/acme/private", number, "secret.txt", content=b"x")
    (item,) = _listed(sim, "gh/acme/private", number)
    url = item["url"]

    missing = requests.get(url, timeout=5)
    assert (missing.status_code, missing.json()) == (401, {"message": "You must log in first."})
    wrong = requests.get(url, headers={"Circle-Token": "not-a-token"}, timeout=5)
    assert (wrong.status_code, wrong.json()) == (401, {"message": "Invalid token provided."})
    bad_basic = requests.get(url, auth=("not-a-token", ""), timeout=5)
    assert bad_basic.status_code == 401
    in_query = requests.get(url, params={"circle-token": sim.token}, timeout=5)
    assert in_query.status_code == 401
    hidden = requests.get(url, headers={"Circle-Token": "other-token"}, timeout=5)
    assert (hidden.status_code, hidden.json()) == (404, {"message": "Not Found"})
    assert requests.get(url, headers={"Circle-Token": sim.token}, timeout=5).content == b"x"


@pytest.mark.parametrize(
    "tail",
    [
        "{slug}/{n}/artifacts/0/nope.txt",  # unknown path
        "{slug}/{n}/artifacts/1/here.txt",  # another node
        "{slug}/{n_next}/artifacts/0/here.txt",  # another job
        "gh/acme/unknown/{n}/artifacts/0/here.txt",  # unknown project
        "{slug}/{n}/files/0/here.txt",  # not an artifact path
        "{slug}/{n}/artifacts/x/here.txt",  # non-numeric node
        "{slug}/{n}/artifacts/0",  # no path at all
    ],
)
def test_unknown_download_paths_answer_404(sim: SimServer, tail: str) -> None:
    number = _job_number(sim.state)
    sim.state.add_artifact(PROJECT_B, number, "here.txt", content=b"x")
    url = f"{sim.url}/output/job/" + tail.format(slug=PROJECT_B, n=number, n_next=number + 1)
    response = requests.get(url, headers={"Circle-Token": sim.token}, timeout=5)
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


def test_a_download_is_get_only(sim: SimServer) -> None:
    number = _job_number(sim.state)
    sim.state.add_artifact(PROJECT_B, number, "here.txt", content=b"x")
    (item,) = _listed(sim, PROJECT_B, number)
    response = requests.post(item["url"], headers={"Circle-Token": sim.token}, timeout=5)
    assert response.status_code == 405


def test_a_file_artifact_is_read_when_downloaded(sim: SimServer, tmp_path: Path) -> None:
    number = _job_number(sim.state)
    stored = tmp_path / "copied.txt"
    stored.write_bytes(b"first")
    sim.state.add_artifact(PROJECT_B, number, "copied.txt", content=stored)
    (item,) = _listed(sim, PROJECT_B, number)
    stored.write_bytes(b"second")
    assert requests.get(item["url"], headers={"Circle-Token": sim.token}, timeout=5).content == b"second"
    stored.unlink()
    assert requests.get(item["url"], headers={"Circle-Token": sim.token}, timeout=5).status_code == 404


def test_the_request_log_never_holds_the_token(sim: SimServer) -> None:
    number = _job_number(sim.state)
    sim.state.add_artifact(PROJECT_B, number, "here.txt", content=b"x")
    (item,) = _listed(sim, PROJECT_B, number)
    requests.get(item["url"], headers={"Circle-Token": sim.token}, timeout=5)
    requests.get(item["url"], auth=(sim.token, ""), timeout=5)
    requests.get(item["url"], params={"Circle-Token": sim.token}, timeout=5)
    downloads = [r for r in sim.state.request_log if r.path.startswith("/output/job/")]
    assert [(r.path, r.status) for r in downloads] == [
        (f"/output/job/{PROJECT_B}/{number}/artifacts/0/here.txt", 200),
        (f"/output/job/{PROJECT_B}/{number}/artifacts/0/here.txt", 200),
        (f"/output/job/{PROJECT_B}/{number}/artifacts/0/here.txt", 401),
    ]
    assert sim.token not in repr(sim.state.request_log)


def test_artifacts_added_before_the_server_started_point_at_it(tmp_path: Path) -> None:
    state = SimState()
    state.add_project(PROJECT_B)
    number = _job_number(state)
    state.add_artifact(PROJECT_B, number, "early.txt", content=b"early")
    (before,) = state.artifacts_of(PROJECT_B, number) or []
    assert before.url == f"https://output.circle-artifacts.com/output/job/{PROJECT_B}/{number}/artifacts/0/early.txt"
    with SimServer(state) as server:
        (item,) = _listed(server, PROJECT_B, number)
        assert item["url"].startswith(server.url + "/output/job/")
        response = requests.get(item["url"], headers={"Circle-Token": server.token}, timeout=5)
        assert (response.status_code, response.content) == (200, b"early")
        assert not server.internal_errors
