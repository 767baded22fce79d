"""CircleCI Server's artifact host: a handoff served from a host other than the API host, over real HTTP.

The record's proof downloads A's handoff artifact. On a server install whose artifacts live on another host, that
host is named with ``--artifact-host`` (or ``CIRCLECI_ARTIFACT_HOST``): the token goes there, and nowhere else.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Optional

import pytest

from cb_helper.pattern.record import HANDOFF_ARTIFACT
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_A, PROJECT_B, Result, Run, make_upstream


class ArtifactHost(http.server.BaseHTTPRequestHandler):
    """Serves ``content`` at any path and keeps the headers of every request."""

    content: ClassVar[bytes] = b""
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.content)))
        self.end_headers()
        self.wfile.write(self.content)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def artifact_host() -> Iterator[tuple[str, type[ArtifactHost]]]:
    handler: type[ArtifactHost] = type("Served", (ArtifactHost,), {"seen": [], "content": b""})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def handed_off_elsewhere(sim: SimServer, run: Run, tmp_path: Path, host: str, handler: type[ArtifactHost]) -> str:
    """A's trigger stored its handoff on ``host`` (as the artifact list says); returns B's record argument."""
    upstream = make_upstream(sim)
    handoff = tmp_path / "handoff.json"
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, "--handoff-file", str(handoff),
    )  # fmt: skip
    assert result.code == 0, result.output
    handler.content = handoff.read_bytes()
    number = sim.state.get_job(upstream.jobs["trigger"]).job_number
    assert number is not None
    url = f"{host}/output/job/{PROJECT_A}/{number}/artifacts/0/{HANDOFF_ARTIFACT}"
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, url=url)
    [b] = sim.state.pipelines_of(PROJECT_B)
    return str(b.parameters["circleback"])


def approve(
    run: Run, sim: SimServer, record: str, *extra: str, env: Optional[dict[str, Optional[str]]] = None
) -> Result:
    [b] = sim.state.pipelines_of(PROJECT_B)
    return run(
        "approve", "--upstream", record, "--downstream-pipeline-id", b.id, "--allow-project", PROJECT_A, "--json",
        *extra, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_handoff_on_a_named_artifact_host_is_read_with_the_token(
    sim: SimServer, run: Run, tmp_path: Path, artifact_host: tuple[str, type[ArtifactHost]], how: str
) -> None:
    host, handler = artifact_host
    record = handed_off_elsewhere(sim, run, tmp_path, host, handler)
    extra = ("--artifact-host", host) if how == "option" else ()
    result = approve(run, sim, record, *extra, env={"CIRCLECI_ARTIFACT_HOST": host} if how == "env" else None)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "approved"
    assert [headers.get("circle-token") for headers in handler.seen] == [sim.token]


def test_a_handoff_on_an_unnamed_host_is_refused_without_sending_the_token(
    sim: SimServer, run: Run, tmp_path: Path, artifact_host: tuple[str, type[ArtifactHost]]
) -> None:
    host, handler = artifact_host
    record = handed_off_elsewhere(sim, run, tmp_path, host, handler)
    result = approve(run, sim, record)
    assert result.code == 3, result.output
    assert "the token is not sent there (name your server's artifact host with --artifact-host" in result.stderr
    assert handler.seen == []  # not a single request, so no token either
    assert [r.path for r in sim.state.request_log if "/approve/" in r.path] == []


@pytest.mark.parametrize(
    "value", ["http://artifacts.example.com", "ftp://artifacts.example.com", "https://user:pw@artifacts.example.com"]
)
def test_an_artifact_host_that_could_leak_the_token_is_bad_input_before_any_request(
    sim: SimServer, run: Run, value: str
) -> None:
    pipeline_id = "5034460f-c7c4-4c43-9457-de07e2029e7b"
    for command in (["status", "--pipeline-id", pipeline_id], ["outputs", "--pipeline-id", pipeline_id]):
        result = run(*command, "--artifact-host", value)
        assert result.code == 2, result.output
        [line] = result.stderr.strip().splitlines()
        assert "host" in line
        assert "pw" not in line
    assert sim.state.request_log == []
