"""The client's transport, call by call: what goes on the wire, what ``--debug`` logs, and every error's wording.

A scripted HTTP server answers each call with the next answer of its script and records what it received, so a
test can send exactly the answer CircleCI might (a 400 without a message, a text error page, a redirect) and read
exactly what the client sent. Artifact hosts on https are reached through a transport adapter that records the
prepared request instead of opening a connection.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
import requests
import requests.adapters

from cb_helper import __version__
from cb_helper.api.auth import Token
from cb_helper.api.client import CircleCIClient, normalize_host
from cb_helper.api.errors import AmbiguousRequest, ApiError, BadInput, CbError, NetworkError, NotFound, Refused
from cb_helper.api.retry import RetryPolicy
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_A

SENTINEL = "sentinel-wire-token-3f1a"
JSON = {"Content-Type": "application/json"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


def answer(status: int, body: Any = None, **headers: str) -> Answer:
    """An answer with a JSON body (``body`` bytes are sent as they are, ``None`` sends none)."""
    if body is None:
        return Answer(status, dict(headers))
    if isinstance(body, bytes):
        return Answer(status, {"Content-Type": "text/plain", **headers}, body)
    return Answer(status, {**JSON, **headers}, json.dumps(body).encode())


class Script:
    """What the server will answer, in order, and what it received."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self.seen: list[Seen] = []
        self.redirect_loop = "/api/v2/loop"

    def then(self, *answers: Answer) -> Script:
        self.answers.extend(answers)
        return self


def _handler(script: Script) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            script.seen.append(Seen(self.command, self.path, headers, body))
            if self.path == script.redirect_loop:
                reply = Answer(302, {"Location": script.redirect_loop})
            else:
                reply = script.answers.pop(0) if script.answers else answer(200, {})
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _serve() -> Iterator[Script]:
    script = Script("")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[Script]:
    yield from _serve()


@pytest.fixture
def other() -> Iterator[Script]:
    yield from _serve()


def make_client(
    url: str,
    attempts: int = 3,
    sleeps: Optional[list[float]] = None,
    read: float = 5.0,
    token: str = SENTINEL,
) -> CircleCIClient:
    return CircleCIClient(
        url,
        Token(token, "CIRCLE_TOKEN"),
        retry=RetryPolicy(max_attempts=attempts, backoff_base=0.01, backoff_max=0.01),
        timeout=(2.0, read),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


# --- what goes on the wire -----------------------------------------------------------------------------------------


def test_a_get_and_a_post_send_the_token_the_agent_and_json_and_nothing_else(server: Script) -> None:
    client = make_client(server.url)
    client.get("/me", {"a": "1", "b": "two"})
    client.post("/project/gh/acme/b/pipeline", {"branch": "main", "parameters": {"x": 1}})
    client.post("/workflow/w/approve/j")
    get, post, bare = server.seen
    assert (get.method, get.path, get.body) == ("GET", "/api/v2/me?a=1&b=two", b"")
    assert get.headers == {
        "host": server.url.removeprefix("http://"),
        "user-agent": f"cb-helper/{__version__} (+https://github.com/circleback/circleback)",
        "accept-encoding": get.headers["accept-encoding"],
        "accept": "application/json",
        "connection": "keep-alive",
        "circle-token": SENTINEL,
    }
    assert (post.method, post.path) == ("POST", "/api/v2/project/gh/acme/b/pipeline")
    assert json.loads(post.body) == {"branch": "main", "parameters": {"x": 1}}
    assert set(post.headers) == set(get.headers) | {"content-type", "content-length"}
    assert post.headers["content-type"] == "application/json"
    assert post.headers["circle-token"] == SENTINEL
    assert (bare.method, bare.body, bare.headers.get("content-length")) == ("POST", b"", "0")
    assert "content-type" not in bare.headers


def test_a_list_keeps_its_filter_on_every_page(sim: SimServer, client: CircleCIClient) -> None:
    sim.state.page_size = 2
    for branch in ("main", "feature", "main", "feature", "feature"):
        sim.state.create_pipeline(PROJECT_A, branch=branch)
    found = list(client.paginate(f"/project/{PROJECT_A}/pipeline", {"branch": "feature"}))
    assert [p["vcs"]["branch"] for p in found] == ["feature"] * 3
    pages = [r for r in sim.state.request_log if r.path.endswith("/pipeline")]
    assert len(pages) == 2
    assert all(r.query.get("branch") == "feature" for r in pages)


# --- what --debug logs ---------------------------------------------------------------------------------------------

_CALL = re.compile(r"^(?P<call>.+) -> (?P<status>\d{3}) \((?P<seconds>\d+\.\d\d)s\)$")


def _debug_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cb_helper.http"]


def _calls(lines: list[str]) -> list[tuple[str, str]]:
    """(call, status) of each answered call; each took a plausible time (not a clock reading)."""
    calls = []
    for line in lines:
        match = _CALL.match(line)
        if match:
            assert 0.0 <= float(match["seconds"]) < 30.0, line
            calls.append((match["call"], match["status"]))
    return calls


def test_debug_names_each_call_with_its_query_its_answer_and_each_retry(
    server: Script, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cb_helper.http")
    server.then(answer(503, {"message": "busy"}), answer(200, {"login": "x"}))
    client = make_client(server.url, attempts=3)
    client.get("/me")
    client.get("/pipeline", {"org-slug": "gh/acme", "mine": "true"})
    lines = _debug_lines(caplog)
    assert _calls(lines) == [
        ("GET /me", "503"),
        ("GET /me", "200"),
        ("GET /pipeline?org-slug=gh/acme&mine=true", "200"),
    ]
    [retry] = [line for line in lines if line.startswith("retrying")]
    assert re.fullmatch(r"retrying in 0\.0[01]s \(attempt 2 of 3\)", retry), retry
    assert len(lines) == 4


def test_debug_names_a_failed_connection_and_a_timeout(sim: SimServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cb_helper.http")
    with SimServer() as gone:
        closed = gone.url
    with pytest.raises(NetworkError):
        make_client(closed, attempts=2).post("/project/gh/acme/b/pipeline", {"branch": "main"})
    sim.faults.add("GET /me", "delay", delay=1.0, count=2)
    with pytest.raises(NetworkError):
        make_client(sim.url, attempts=2, read=0.3, token=sim.token).get("/me")
    lines = _debug_lines(caplog)
    assert lines[0] == "POST /project/gh/acme/b/pipeline -> connection failed (ConnectionError)"
    assert re.fullmatch(r"retrying in 0\.0[01]s \(attempt 2 of 2\)", lines[1]), lines[1]
    assert lines[2] == lines[0]
    assert lines[3] == lines[5] == "GET /me -> timed out"
    assert re.fullmatch(r"retrying in 0\.0[01]s \(attempt 2 of 2\)", lines[4]), lines[4]
    assert len(lines) == 6


def test_a_download_logs_the_path_of_its_url_never_its_query(sim: SimServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cb_helper.http")
    pipeline = sim.state.create_pipeline(PROJECT_A, branch="main")
    job = sim.state.add_job(sim.state.add_workflow(pipeline.id, "build").id, "trigger", status="running")
    assert job.job_number is not None
    sim.state.add_artifact(PROJECT_A, job.job_number, "out/a.json", content=b"{}")
    client = make_client(sim.url, token=sim.token)
    [artifact] = client.paginate(f"/project/{PROJECT_A}/{job.job_number}/artifacts")
    caplog.clear()
    assert client.download(artifact["url"] + "?signature=abc") == b"{}"
    [(call, status)] = _calls(_debug_lines(caplog))
    assert (call, status) == ("GET " + artifact["url"].removeprefix(sim.url), "200")


# --- errors, word for word -----------------------------------------------------------------------------------------


def test_an_error_answer_is_named_with_the_apis_own_message(server: Script) -> None:
    client = make_client(server.url)
    server.then(answer(400, {"message": "Unexpected request body provided."}))
    with pytest.raises(ApiError) as bad:
        client.get("/me")
    assert str(bad.value) == "GET /me failed with HTTP 400: Unexpected request body provided."
    assert bad.value.api_message == "Unexpected request body provided."
    server.then(answer(400, {"error": "no message field"}), answer(422, [{"message": "in a list"}]))
    for status in (400, 422):
        with pytest.raises(ApiError) as unnamed:
            client.get("/me")
        assert str(unnamed.value) == f"GET /me failed with HTTP {status}"
        assert unnamed.value.api_message is None
    assert len(server.seen) == 3  # a 4xx other than 429 is not retried


def test_an_error_page_that_is_not_json_is_named_by_its_first_line(server: Script) -> None:
    client = make_client(server.url, attempts=1)
    server.then(answer(502, b"  upstream connect error\nreset reason: overflow\n"))
    with pytest.raises(ApiError) as page:
        client.get("/me")
    assert str(page.value) == "GET /me failed with HTTP 502: upstream connect error"
    server.then(answer(502, b"x" * 300))
    with pytest.raises(ApiError) as long_line:
        client.get("/me")
    assert long_line.value.api_message == "x" * 200
    server.then(answer(502, b"\n  \n"))
    with pytest.raises(ApiError) as blank:
        client.get("/me")
    assert str(blank.value) == "GET /me failed with HTTP 502"


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (answer(500, {"message": "Internal server error."}), "POST /x failed with HTTP 500: Internal server error."),
        (answer(503), "POST /x failed with HTTP 503"),
    ],
)
def test_a_post_answered_with_a_server_error_may_have_acted_and_is_not_sent_again(
    server: Script, reply: Answer, said: str
) -> None:
    server.then(reply)
    with pytest.raises(AmbiguousRequest) as caught:
        make_client(server.url).post("/x", {"a": 1})
    assert str(caught.value) == said + "; the request may have taken effect, so it was not re-sent"
    assert len(server.seen) == 1


def test_a_post_sent_through_request_is_not_retried_unless_marked_safe(server: Script) -> None:
    server.then(answer(502), answer(502), answer(200, {"ok": True}))
    client = make_client(server.url)
    with pytest.raises(AmbiguousRequest):
        client.request("POST", "/x")
    assert client.request("POST", "/x", post_retry_safe=True) == {"ok": True}
    assert len(server.seen) == 3


def test_a_post_whose_answer_never_came_may_have_acted(server: Script) -> None:
    server.then(Answer(200, JSON, b"{}", delay=1.0))
    client = make_client(server.url, read=0.3)
    with pytest.raises(AmbiguousRequest) as caught:
        client.post("/workflow/w/approve/j")
    assert str(caught.value) == (
        f"POST /workflow/w/approve/j timed out after the request was sent (host {server.url}); "
        "it may have taken effect, so it was not re-sent"
    )
    assert len(server.seen) == 1


def test_a_get_that_timed_out_every_time_says_so_and_how_often(sim: SimServer) -> None:
    sim.faults.add("GET /me", "delay", delay=1.0, count=2)
    with pytest.raises(NetworkError) as caught:
        make_client(sim.url, attempts=2, read=0.3, token=sim.token).get("/me")
    assert not isinstance(caught.value, AmbiguousRequest)
    assert str(caught.value) == f"GET /me timed out (host {sim.url}, after 2 attempts)"


def test_a_refused_connection_says_it_could_not_connect() -> None:
    with SimServer() as gone:
        closed = gone.url
    with pytest.raises(NetworkError) as caught:
        make_client(closed, attempts=2).get("/me")
    assert str(caught.value) == f"GET /me could not connect or lost the connection (host {closed}, after 2 attempts)"


def test_a_dropped_post_may_have_acted(sim: SimServer) -> None:
    sim.faults.add("POST /workflow/*", "drop", count=1)
    path = f"/workflow/{uuid.uuid4()}/approve/{uuid.uuid4()}"
    with pytest.raises(AmbiguousRequest) as caught:
        make_client(sim.url, token=sim.token).post(path)
    assert str(caught.value) == (
        f"POST {path} could not connect or lost the connection after the request was sent "
        f"(host {sim.url}); it may have taken effect, so it was not re-sent"
    )


def test_a_redirect_loop_is_a_network_error_naming_it(server: Script) -> None:
    with pytest.raises(NetworkError) as caught:
        make_client(server.url).get("/loop")
    assert str(caught.value) == "GET /loop failed: TooManyRedirects"


def test_retry_after_on_a_server_error_is_honoured(server: Script) -> None:
    sleeps: list[float] = []
    server.then(answer(503, {"message": "busy"}, **{"Retry-After": "3"}), answer(200, {"ok": 1}))
    assert make_client(server.url, sleeps=sleeps).get("/me") == {"ok": 1}
    [slept] = sleeps
    assert 3.0 <= slept <= 3.5


def test_rate_limited_answers_do_not_spend_the_attempts_of_other_failures(server: Script) -> None:
    """Three 429s, then a server error on every attempt: all five attempts still happen after the 429s."""
    server.then(*[answer(429, {"message": "Rate limit exceeded."}, **{"Retry-After": "0"})] * 3)
    server.then(*[answer(502, {"message": "Bad gateway"})] * 6)
    with pytest.raises(ApiError) as caught:
        make_client(server.url, attempts=5).get("/me")
    assert caught.value.status == 502
    assert len(server.seen) == 3 + 5


# --- redirects keep the token at home ------------------------------------------------------------------------------


def test_a_redirect_within_the_host_keeps_the_token(server: Script) -> None:
    server.then(answer(301, None, Location="/api/v2/me/new"), answer(200, {"login": "x"}))
    assert make_client(server.url).get("/me") == {"login": "x"}
    assert [s.path for s in server.seen] == ["/api/v2/me", "/api/v2/me/new"]
    assert [s.headers.get("circle-token") for s in server.seen] == [SENTINEL, SENTINEL]


def test_a_token_dropped_on_a_redirect_stays_dropped_over_the_next_one(server: Script, other: Script) -> None:
    """Home -> elsewhere -> home again: the token left at the first hop does not come back."""
    server.then(answer(302, None, Location=other.url + "/hop"), answer(401, {"message": "Invalid token provided."}))
    other.then(answer(302, None, Location=server.url + "/api/v2/back"))
    with pytest.raises(CbError, match="HTTP 401"):
        make_client(server.url).get("/me")
    assert [s.headers.get("circle-token") for s in server.seen] == [SENTINEL, None]
    assert [s.headers.get("circle-token") for s in other.seen] == [None]


# --- artifact downloads --------------------------------------------------------------------------------------------


class _Recording(requests.adapters.BaseAdapter):
    """A transport that answers from a script and records each prepared request; it opens no connection."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__()
        self.statuses = statuses
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.statuses.pop(0) if self.statuses else 200
        response._content = b"artifact" if response.status_code == 200 else b"{}"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _offline(host: str, statuses: Optional[list[int]] = None) -> tuple[CircleCIClient, _Recording]:
    client = make_client(host)
    transport = _Recording(statuses or [])
    client.session.mount("https://", transport)
    client.session.mount("http://", transport)
    return client, transport


@pytest.mark.parametrize(
    "url",
    [
        "https://output.circle-artifacts.com/output/job/0b1c/artifacts/0/circleback/handoff.json",
        "https://circle-artifacts.com/0/a.json",
        "https://Output.Circle-Artifacts.COM/0/a.json",
    ],
)
def test_circlecis_artifact_host_gets_the_token_over_https(url: str) -> None:
    client, transport = _offline("https://circleci.com")
    assert client.download(url) == b"artifact"
    [sent] = transport.sent
    assert sent.url == url.replace("Output.Circle-Artifacts.COM", "output.circle-artifacts.com")
    assert (sent.method, sent.headers["Circle-Token"]) == ("GET", SENTINEL)


def test_the_api_host_itself_serves_artifacts_whatever_the_case_of_its_name() -> None:
    client, transport = _offline("http://Api.Example:8080")
    assert client.download("http://api.example:8080/output/job/x/artifacts/0/a.json") == b"artifact"
    assert transport.sent[0].headers["Circle-Token"] == SENTINEL


def test_a_download_is_retried_like_any_read() -> None:
    client, transport = _offline("https://circleci.com", statuses=[503])
    assert client.download("https://output.circle-artifacts.com/0/a.json") == b"artifact"
    assert len(transport.sent) == 2


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://circle-artifacts.com.evil.example/a.json", "circle-artifacts.com.evil.example"),
        ("https://evilcircle-artifacts.com/a.json", "evilcircle-artifacts.com"),
        ("https://evil.example/circle-artifacts.com/a.json", "evil.example"),
    ],
)
def test_a_host_that_only_looks_like_the_artifact_host_is_refused(url: str, host: str) -> None:
    client, transport = _offline("https://circleci.com")
    with pytest.raises(Refused) as caught:
        client.download(url)
    assert str(caught.value) == (
        f"artifact URL on host {host!r} is neither circleci.com nor CircleCI's artifact host; "
        "the token is not sent there (name your server's artifact host with --artifact-host or "
        "CIRCLECI_ARTIFACT_HOST to allow it)"
    )
    assert transport.sent == []


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A host whose listen queue is full: a connection to it is never established and times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting = []
    for _ in range(5):  # fill the queue; nobody accepts
        pending = socket.socket()
        pending.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            pending.connect(("127.0.0.1", port))
        waiting.append(pending)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for pending in waiting:
            pending.close()
        listener.close()


def test_a_post_whose_connection_timed_out_never_reached_the_server_and_is_sent_again(full_backlog: str) -> None:
    sleeps: list[float] = []
    client = CircleCIClient(
        full_backlog,
        Token(SENTINEL, "CIRCLE_TOKEN"),
        retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.01),
        timeout=(0.3, 5.0),
        sleep=sleeps.append,
    )
    with pytest.raises(NetworkError) as caught:
        client.post("/project/gh/acme/b/pipeline", {"branch": "main"})
    assert not isinstance(caught.value, AmbiguousRequest)
    assert str(caught.value) == f"POST /project/gh/acme/b/pipeline timed out (host {full_backlog}, after 2 attempts)"
    assert len(sleeps) == 1


def test_an_answer_without_a_body_is_none(server: Script) -> None:
    server.then(answer(202), answer(204))
    client = make_client(server.url)
    assert client.post("/x", {"a": 1}) is None
    assert client.get("/y") is None
    assert len(server.seen) == 2


def test_a_read_whose_body_is_not_json_is_read_again_then_named(
    server: Script, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cb_helper.http")
    server.then(answer(200, b"<html>"), answer(200, {"ok": 1}))
    client = make_client(server.url, attempts=2)
    assert client.get("/me") == {"ok": 1}
    assert "GET /me -> unreadable body" in _debug_lines(caplog)
    server.then(answer(200, b"<html>"), answer(200, b"{"))
    with pytest.raises(NetworkError) as caught:
        client.get("/me")
    assert not isinstance(caught.value, AmbiguousRequest)
    assert str(caught.value) == "GET /me answered HTTP 200 with a body that is not JSON"
    assert len(server.seen) == 4


def test_a_post_whose_body_is_not_json_may_have_acted_and_is_not_sent_again(server: Script) -> None:
    server.then(answer(201, b"<html>"))
    with pytest.raises(AmbiguousRequest) as caught:
        make_client(server.url).post("/project/gh/acme/b/pipeline", {"branch": "main"})
    assert str(caught.value) == (
        "POST /project/gh/acme/b/pipeline answered HTTP 201 with a body that is not JSON; "
        "the request may have taken effect and was not re-sent"
    )
    assert len(server.seen) == 1


# --- the host --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "host"),
    [
        (" https://circleci.com/ ", "https://circleci.com"),
        ("https://circleci.com/api/v2", "https://circleci.com"),
        ("https://circleci.com/api/v2/", "https://circleci.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://x.example:1", "http://x.example:1"),
        ("http://CI-BOX/", "http://CI-BOX"),  # only the slash is trimmed, whatever the name ends with
        ("http://x.example:65535", "http://x.example:65535"),
        ("https://circleci.example.com:443/", "https://circleci.example.com:443"),
    ],
)
def test_a_host_is_taken_as_its_origin(given: str, host: str) -> None:
    assert normalize_host(given) == host
    assert CircleCIClient(given, Token(SENTINEL, "CIRCLE_TOKEN")).base_url == host + "/api/v2"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("ftp://x.example", "is not an http(s) URL (expected e.g. https://circleci.com)"),
        ("circleci.com", "is not an http(s) URL (expected e.g. https://circleci.com)"),
        ("https://", "is not an http(s) URL (expected e.g. https://circleci.com)"),
        ("https://x.example?a=1", "is not an http(s) URL (expected e.g. https://circleci.com)"),
        ("https://x.example#top", "is not an http(s) URL (expected e.g. https://circleci.com)"),
        ("http://:80", "has no host name (expected e.g. https://circleci.com)"),
        ("http://x.example:99999", "has an invalid port (expected a number from 1 to 65535)"),
        ("http://x.example:0", "has an invalid port (expected a number from 1 to 65535)"),
        ("http://x.example:65536", "has an invalid port (expected a number from 1 to 65535)"),
        ("http://x.example:-1", "has an invalid port (expected a number from 1 to 65535)"),
        ("http://x.example:eighty", "has an invalid port (expected a number from 1 to 65535)"),
    ],
)
def test_a_host_that_is_not_an_origin_is_refused_by_name(given: str, said: str) -> None:
    with pytest.raises(BadInput) as caught:
        normalize_host(given)
    assert str(caught.value) == f"host {given!r} {said}"


def test_a_host_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(BadInput) as caught:
        normalize_host("https://user@pa@ss@ci.example.com/")
    assert str(caught.value) == (
        "host 'https://***@ci.example.com' carries credentials (expected a URL without user:password@; "
        "the token is read from the environment)"
    )


# --- pages ---------------------------------------------------------------------------------------------------------


def _page(items: list[Any], token: Optional[str] = None) -> Answer:
    return answer(200, {"items": items, "next_page_token": token})


def test_pages_are_followed_with_the_filter_and_the_token_of_the_page_before(server: Script) -> None:
    server.then(_page([{"id": "a"}, 7, "x"], "t1"), _page([{"id": "b"}], "t2"), _page([{"id": "c"}]))
    client = make_client(server.url)
    assert [item["id"] for item in client.paginate("/list", {"branch": "x"})] == ["a", "b", "c"]
    assert [s.path for s in server.seen] == [
        "/api/v2/list?branch=x",
        "/api/v2/list?branch=x&page-token=t1",
        "/api/v2/list?branch=x&page-token=t2",
    ]


def test_a_stale_page_token_lists_again_from_the_first_page_and_yields_each_item_once(
    server: Script, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cb_helper.http")
    first = _page([{"id": "a"}, {"name": "no id"}], "t1")
    server.then(first, answer(404, {"message": "Not found"}), first, _page([{"id": "c"}, {"name": "later"}]))
    items = list(make_client(server.url).paginate("/list"))
    assert items == [{"id": "a"}, {"name": "no id"}, {"id": "c"}, {"name": "later"}]
    assert [s.path for s in server.seen] == ["/api/v2/list", "/api/v2/list?page-token=t1"] * 2
    assert "GET /list -> the page token went stale; listing again from the first page" in _debug_lines(caplog)


def test_page_tokens_that_keep_going_stale_end_in_an_error_naming_it(server: Script) -> None:
    first = _page([{"id": "a"}], "t1")
    stale = answer(404, {"message": "Not found"})
    server.then(first, stale, first, stale, first, _page([]))
    with pytest.raises(ApiError) as caught:
        list(make_client(server.url, attempts=2).paginate("/list"))
    assert str(caught.value) == "GET /list failed with HTTP 404: Not Found (page tokens kept going stale)"
    assert len(server.seen) == 4


def test_a_list_that_is_not_there_is_not_found_at_once(server: Script) -> None:
    server.then(answer(404, {"message": "Project not found"}))
    with pytest.raises(NotFound, match="GET /list failed with HTTP 404: Project not found"):
        list(make_client(server.url).paginate("/list"))
    assert len(server.seen) == 1


@pytest.mark.parametrize("body", [{"items": "abc"}, {"next_page_token": None}, [{"id": "a"}]])
def test_an_answer_that_is_not_a_list_page_is_an_error(server: Script, body: Any) -> None:
    server.then(answer(200, body))
    with pytest.raises(ApiError) as caught:
        list(make_client(server.url).paginate("/list"))
    assert str(caught.value) == "GET /list failed: the answer is not a list ({items, next_page_token})"


def test_a_page_token_given_twice_stops_the_list(server: Script) -> None:
    server.then(_page([{"id": "a"}], "t1"), _page([{"id": "b"}], "t2"), _page([{"id": "c"}], "t1"))
    with pytest.raises(ApiError) as caught:
        list(make_client(server.url).paginate("/list"))
    assert str(caught.value) == "GET /list failed: the server repeated a page token; stopped to avoid a loop"
    assert len(server.seen) == 3


def test_a_list_longer_than_the_page_limit_stops_with_an_error(server: Script) -> None:
    server.then(_page([{"id": "a"}], "t1"), _page([{"id": "b"}], "t2"))
    client = CircleCIClient(server.url, Token(SENTINEL, "CIRCLE_TOKEN"), max_pages=2)
    with pytest.raises(CbError) as caught:
        list(client.paginate("/list"))
    assert str(caught.value) == "GET /list still had more results after 2 pages; stopped"
    assert len(server.seen) == 2


def test_an_item_read_twice_across_a_restart_is_known_by_its_id_else_by_its_content(server: Script) -> None:
    """Between two readings a job's status may change (same id) and a field order may too (same content)."""
    stale = answer(404, {"message": "Not found"})
    server.then(_page([{"id": "j1", "status": "running"}, {"path": "a", "node": 0}], "t1"), stale)
    server.then(_page([{"status": "success", "id": "j1"}, {"node": 0, "path": "a"}], "t2"))
    server.then(_page([{"id": "j2"}, {"path": "b", "node": 0}]))
    items = list(make_client(server.url).paginate("/list"))
    assert items == [
        {"id": "j1", "status": "running"},
        {"path": "a", "node": 0},
        {"id": "j2"},
        {"path": "b", "node": 0},
    ]
