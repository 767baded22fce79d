"""The client over real HTTP against the simulator: pagination, retries, POST safety, errors, redirects."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cb_helper.api.auth import Token
from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import (
    AmbiguousRequest,
    ApiError,
    CbError,
    NetworkError,
    NotFound,
    RateLimited,
    Refused,
    Unauthorized,
)
from cb_helper.api.retry import RetryPolicy
from cb_helper.pattern.approve import find_job
from cb_helper.pattern.trigger import TriggerRequest, trigger
from cb_helper.sim import RequestRecord, SimServer
from tests.conftest import FastClock
from tests.helper.conftest import PROJECT_A, PROJECT_B


def workflow_with_jobs(sim: SimServer, count: int) -> str:
    pipeline = sim.state.create_pipeline(PROJECT_A)
    workflow = sim.state.add_workflow(pipeline.id, "build")
    for i in range(count):
        sim.state.add_job(workflow.id, f"job-{i:03d}")
    return workflow.id


def requests_to(sim: SimServer, method: str, fragment: str) -> list[RequestRecord]:
    return [r for r in sim.state.request_log if r.method == method and fragment in r.path]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=45), page_size=st.integers(min_value=1, max_value=12))
def test_paginate_yields_every_item_once_in_order(
    sim: SimServer, client: CircleCIClient, count: int, page_size: int
) -> None:
    sim.state.page_size = page_size
    workflow_id = workflow_with_jobs(sim, count)
    sim.state.clear_request_log()
    names = [job["name"] for job in client.paginate(f"/workflow/{workflow_id}/job")]
    assert names == [f"job-{i:03d}" for i in range(count)]
    calls = requests_to(sim, "GET", "/job")
    assert len(calls) == max(1, -(-count // page_size))
    assert all("page-token" in r.query for r in calls[1:])


def test_lookup_stops_paging_at_the_first_match(sim: SimServer, client: CircleCIClient) -> None:
    sim.state.page_size = 5
    workflow_id = workflow_with_jobs(sim, 40)
    sim.state.clear_request_log()
    job, seen = find_job(client, workflow_id, "job-007")
    assert job is not None
    assert job["name"] == "job-007"
    assert len(seen) == 7
    assert len(requests_to(sim, "GET", "/job")) == 2


def test_get_is_retried_on_transient_statuses(sim: SimServer, client: CircleCIClient) -> None:
    workflow_id = workflow_with_jobs(sim, 1)
    sim.faults.add("GET /workflow/*", "status", status=503, count=2)
    assert client.get(f"/workflow/{workflow_id}")["id"] == workflow_id
    assert len(requests_to(sim, "GET", f"/workflow/{workflow_id}")) == 3


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_get_survives_a_broken_answer(sim: SimServer, client: CircleCIClient, kind: str) -> None:
    workflow_id = workflow_with_jobs(sim, 1)
    sim.faults.add("GET /workflow/*", kind, count=1)
    assert client.get(f"/workflow/{workflow_id}")["id"] == workflow_id


def test_get_survives_a_read_timeout(sim: SimServer) -> None:
    workflow_id = workflow_with_jobs(sim, 1)
    sim.faults.add("GET /workflow/*", "delay", delay=1.0, count=1)
    fast = CircleCIClient(
        sim.url, Token(sim.token, "T"), timeout=(1.0, 0.3), retry=RetryPolicy(backoff_base=0.01, backoff_max=0.01)
    )
    assert fast.get(f"/workflow/{workflow_id}")["id"] == workflow_id


def test_retry_after_is_honoured(sim: SimServer) -> None:
    sleeps: list[float] = []
    client = CircleCIClient(sim.url, Token(sim.token, "T"), sleep=sleeps.append)
    sim.faults.add("GET /me", "status", status=429, retry_after=7, count=1)
    assert "login" in client.get("/me")
    [slept] = sleeps
    assert 7.0 <= slept <= 7.5  # the hint, plus a spread of at most the first backoff


def limited_client(sim: SimServer, clock: FastClock, **policy: Any) -> CircleCIClient:
    """A client whose waits go by ``clock`` (the simulator's too), with the default rate-limit budget."""
    policy_ = RetryPolicy(**policy)
    return CircleCIClient(sim.url, Token(sim.token, "T"), retry=policy_, sleep=clock.sleep, clock=clock.now)


def test_429s_are_retried_for_a_time_not_a_count(sim: SimServer, fast_clock: FastClock) -> None:
    """Two minutes of 429s (far more than the five attempts other failures get) still end in an answer."""
    client = limited_client(sim, fast_clock)
    sim.faults.add("GET /me", "status", status=429, retry_after=1, seconds=120)
    sim.faults.add("GET /me", "status", status=502, count=1)  # the limit's first pass meets another failure
    assert "login" in client.get("/me")
    calls = requests_to(sim, "GET", "/me")
    assert [r.status for r in calls[-2:]] == [502, 200]
    assert len(calls) > 60  # each wait is the 1 s asked, plus a spread of at most as much again
    assert all(s >= 1.0 for s in fast_clock.slept[:-1])
    assert sum(fast_clock.slept) >= 120


def test_the_rate_limit_budget_runs_out_and_says_how_long_it_waited(sim: SimServer, fast_clock: FastClock) -> None:
    client = limited_client(sim, fast_clock, rate_limit_budget=90.0, jitter=lambda ceiling: 0.0)
    sim.faults.add("GET /me", "status", status=429, retry_after=1, seconds=3600)
    with pytest.raises(RateLimited) as limited:
        client.get("/me")
    assert len(requests_to(sim, "GET", "/me")) == 91  # one at once, then one after each second of the budget
    assert fast_clock.slept == [1.0] * 90
    assert str(limited.value) == (
        "GET /me failed with HTTP 429: Rate limit exceeded. (rate limited; gave up after 91 answers of "
        "HTTP 429 in 1m30s: the rate-limit budget, CB_HELPER_RATE_LIMIT_BUDGET, is 1m30s)"
    )


def test_a_retry_after_past_the_budget_ends_the_wait_at_once(sim: SimServer, fast_clock: FastClock) -> None:
    """A try sooner than the server asked would be refused: past the budget, the request gives up instead."""
    client = limited_client(sim, fast_clock, rate_limit_budget=30.0, jitter=lambda ceiling: 0.0)
    sim.faults.add("GET /me", "status", status=429, retry_after=20, count=1)
    sim.faults.add("GET /me", "status", status=429, retry_after=20, count=1)
    with pytest.raises(RateLimited, match=r"after 2 answers of HTTP 429 in 20\.0s, then asked to wait 20s more"):
        client.get("/me")
    assert fast_clock.slept == [20.0]


def test_429s_without_retry_after_back_off_and_the_last_wait_ends_at_the_budget(
    sim: SimServer, fast_clock: FastClock
) -> None:
    client = limited_client(sim, fast_clock, rate_limit_budget=10.0, jitter=lambda ceiling: ceiling)
    sim.faults.add("GET /me", "status", status=429, seconds=3600)
    with pytest.raises(RateLimited, match=r"gave up after 6 answers of HTTP 429 in 10\.0s: the rate-limit budget"):
        client.get("/me")
    assert fast_clock.slept == [0.5, 1.0, 2.0, 4.0, 2.5]  # the backoff's ceilings, the last cut to the budget


def test_a_long_rate_limit_is_reported_every_minute(
    sim: SimServer, fast_clock: FastClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A CI step that prints nothing for minutes may be ended: a long wait says, once a minute, why it waits."""
    client = limited_client(sim, fast_clock, jitter=lambda ceiling: 0.0)
    sim.faults.add("GET /me", "status", status=429, retry_after=10, seconds=185)
    with caplog.at_level(logging.WARNING, logger="cb_helper.http"):
        client.get("/me")
    notices = [r.getMessage() for r in caplog.records if "rate limited" in r.getMessage()]
    assert notices == [
        "GET /me is rate limited: 7 answers of HTTP 429 in 1m0s; still trying, for up to 5m0s in all",
        "GET /me is rate limited: 13 answers of HTTP 429 in 2m0s; still trying, for up to 5m0s in all",
        "GET /me is rate limited: 19 answers of HTTP 429 in 3m0s; still trying, for up to 5m0s in all",
    ]


def test_retries_are_bounded(sim: SimServer, client: CircleCIClient) -> None:
    sim.faults.add("GET /me", "status", status=502, count=10)
    with pytest.raises(ApiError) as caught:
        client.get("/me")
    assert caught.value.status == 502
    assert "GET /me failed with HTTP 502" in str(caught.value)
    assert len(requests_to(sim, "GET", "/me")) == client.retry.max_attempts


def test_a_post_is_retried_only_when_the_server_did_not_act(sim: SimServer, client: CircleCIClient) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main")
    sim.faults.add("POST /project/*", "status", status=429, count=1)
    trigger(client, request)
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1
    assert len(requests_to(sim, "POST", "/pipeline")) == 2


@pytest.mark.parametrize("kind", ["drop", "status"])
def test_an_ambiguous_trigger_is_sent_again_only_after_looking_found_nothing(
    sim: SimServer, client: CircleCIClient, kind: str
) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main")
    sim.faults.add("POST /project/*/pipeline", kind, status=502 if kind == "status" else None, count=1)
    result = trigger(client, request)
    [created] = sim.state.pipelines_of(PROJECT_B)
    assert result.id == created.id
    assert not result.recovered
    log = [(r.method, r.path.split("/")[-1]) for r in sim.state.request_log if r.path != "/me"]
    assert log[0] == log[-1] == ("POST", "pipeline")
    assert log[1:-1] == [("GET", "pipeline")] * client.retry.max_attempts  # every look came back empty


def test_a_trigger_sent_again_says_so_after_pausing_between_looks_only(
    sim: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05)
    client = CircleCIClient(sim.url, Token(sim.token, "T"), retry=policy, sleep=sleeps.append)
    sim.faults.add("POST /project/*/pipeline", "status", status=502, count=1)
    trigger(client, TriggerRequest.build(PROJECT_B, branch="main"))
    assert sleeps == [policy.ceiling(1), policy.ceiling(2)]  # between the three looks, none after the last
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"the trigger's answer was lost and no pipeline appeared on {PROJECT_B}; sent again"]


@pytest.mark.parametrize("kind", ["drop", "status"])
def test_an_ambiguous_trigger_is_not_sent_again_when_it_cannot_look(
    sim: SimServer, client: CircleCIClient, kind: str
) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main")
    sim.faults.add("POST /project/*/pipeline", kind, status=502 if kind == "status" else None, count=1)
    sim.faults.add("GET /me", "status", status=500, count=client.retry.max_attempts)
    with pytest.raises(AmbiguousRequest, match="not re-sent"):
        trigger(client, request)
    assert len(requests_to(sim, "POST", "/pipeline")) == 1
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_an_ambiguous_trigger_gives_up_after_the_retry_policys_attempts(sim: SimServer, client: CircleCIClient) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main")
    sim.faults.add("POST /project/*/pipeline", "status", status=503, count=client.retry.max_attempts)
    with pytest.raises(AmbiguousRequest, match=f"after {client.retry.max_attempts} attempts"):
        trigger(client, request)
    assert len(requests_to(sim, "POST", "/pipeline")) == client.retry.max_attempts
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_act_then_fail_is_recovered_without_a_second_pipeline(sim: SimServer, client: CircleCIClient) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p1"})
    sim.state.create_pipeline(PROJECT_B, branch="main", parameters={"triggering-pipeline-id": "p0"})
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    result = trigger(client, request)
    pipelines = sim.state.pipelines_of(PROJECT_B)
    assert len(pipelines) == 2
    created = [p for p in pipelines if p.parameters == {"triggering-pipeline-id": "p1"}]
    assert result.recovered
    assert [result.id] == [p.id for p in created]
    assert len(requests_to(sim, "POST", "/pipeline")) == 1


def test_a_trigger_the_server_performs_after_the_client_gave_up_is_adopted(sim: SimServer) -> None:
    """The answer is slower than the read timeout and the pipeline is created late: the client looks again."""
    client = CircleCIClient(
        sim.url,
        Token(sim.token, "CIRCLE_TOKEN"),
        retry=RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=2.0),
        timeout=(2.0, 0.5),
    )
    sim.faults.add("POST /project/*/pipeline", "delay", delay=1.5, count=1)
    result = trigger(client, TriggerRequest.build(PROJECT_B, branch="main", parameters={"run": "late"}))
    [created] = sim.state.pipelines_of(PROJECT_B)
    assert result.recovered
    assert result.id == created.id
    assert len(requests_to(sim, "POST", "/pipeline")) == 1
    assert len(requests_to(sim, "GET", f"/project/{PROJECT_B}/pipeline")) >= 2  # looked again


def test_a_stale_page_token_restarts_the_list_and_yields_each_item_once(sim: SimServer, client: CircleCIClient) -> None:
    sim.state.page_size = 2
    workflow_id = workflow_with_jobs(sim, 5)
    sim.faults.add("GET /workflow/*/job", "stale_page_token", after=1, count=1)  # the third page's token
    names = [job["name"] for job in client.paginate(f"/workflow/{workflow_id}/job")]
    assert names == [f"job-{i:03d}" for i in range(5)]
    pages = [r.query.get("page-token") is not None for r in requests_to(sim, "GET", "/job")]
    assert pages == [False, True, True, False, True, True]  # 404 on page 3, then pages 1, 2, 3 again


def test_page_tokens_that_keep_going_stale_are_an_error(sim: SimServer, client: CircleCIClient) -> None:
    sim.state.page_size = 2
    workflow_id = workflow_with_jobs(sim, 5)
    sim.faults.add("GET /workflow/*/job", "stale_page_token", count=client.retry.max_attempts)
    with pytest.raises(ApiError, match="Not Found"):
        list(client.paginate(f"/workflow/{workflow_id}/job"))
    assert len(requests_to(sim, "GET", "/job")) == 2 * client.retry.max_attempts


def test_an_unknown_token_is_refused_with_the_apis_message(sim: SimServer) -> None:
    client = CircleCIClient(sim.url, Token("not-a-known-token", "T"))
    with pytest.raises(Unauthorized) as caught:
        client.get("/me")
    assert caught.value.status == 401
    assert "Invalid token provided." in str(caught.value)
    assert "not-a-known-token" not in str(caught.value)


def test_connection_refused_is_a_network_error() -> None:
    with SimServer() as server:
        url = server.url
    client = CircleCIClient(url, Token("x", "T"), retry=RetryPolicy(max_attempts=2, backoff_base=0.01))
    with pytest.raises(NetworkError, match="could not connect"):
        client.get("/me")


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]]
    location: str = ""

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"items": [{"id": 1}], "next_page_token": "same"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, type[_Recorder]]]:
    handler: type[_Recorder] = type("Elsewhere", (_Recorder,), {"seen": [], "location": ""})
    for url in _serve(handler):
        yield url, handler


def test_the_token_is_not_forwarded_when_a_redirect_leaves_the_host(
    elsewhere: tuple[str, type[_Recorder]],
) -> None:
    target_url, target = elsewhere
    origin: type[_Recorder] = type("Origin", (_Recorder,), {"seen": [], "location": target_url + "/api/v2/me"})
    for origin_url in _serve(origin):
        client = CircleCIClient(origin_url, Token("sentinel-redirect-token", "T"))
        with pytest.raises(CbError):
            list(client.paginate("/me"))
    assert origin.seen[0]["circle-token"] == "sentinel-redirect-token"
    assert target.seen, "the redirect was followed"
    assert all("circle-token" not in headers for headers in target.seen)
    assert all("sentinel-redirect-token" not in str(headers) for headers in target.seen)


def test_a_repeated_page_token_stops_the_loop(elsewhere: tuple[str, type[_Recorder]]) -> None:
    url, handler = elsewhere
    client = CircleCIClient(url, Token("x", "T"))
    with pytest.raises(ApiError, match="repeated a page token"):
        list(client.paginate("/anything"))
    assert len(handler.seen) == 2


def test_the_page_count_is_bounded(elsewhere: tuple[str, type[_Recorder]]) -> None:
    url, handler = elsewhere
    client = CircleCIClient(url, Token("x", "T"), max_pages=1)
    with pytest.raises(CbError, match="after 1 pages"):
        list(client.paginate("/anything"))
    assert len(handler.seen) == 1


def test_repr_hides_the_token() -> None:
    client = CircleCIClient("https://circleci.com", Token("sentinel-repr", "CIRCLE_TOKEN"))
    assert "sentinel-repr" not in repr(client)
    assert "sentinel-repr" not in repr(vars(client))


def test_a_refused_connection_lets_even_a_post_be_retried() -> None:
    """Nothing reached a server, so re-sending cannot start the downstream twice."""
    with SimServer() as server:
        url = server.url
    sleeps: list[float] = []
    client = CircleCIClient(url, Token("x", "T"), retry=RetryPolicy(max_attempts=3), sleep=sleeps.append)
    with pytest.raises(NetworkError) as caught:
        client.post("/project/gh/acme/api/pipeline", {"branch": "main"})
    assert not isinstance(caught.value, AmbiguousRequest)
    assert len(sleeps) == 2


def test_a_failed_look_up_after_an_ambiguous_trigger_still_says_it_may_have_run(
    sim: SimServer, client: CircleCIClient
) -> None:
    request = TriggerRequest.build(PROJECT_B, branch="main")
    sim.faults.add("POST /project/*/pipeline", "act_then_fail", count=1)
    sim.faults.add("GET /me", "drop", count=10)
    with pytest.raises(AmbiguousRequest) as caught:
        trigger(client, request)
    message = str(caught.value)
    assert "GET /me" in message
    assert f"{PROJECT_B} may already have been triggered" in message
    assert f"GET {sim.url}/api/v2/project/{PROJECT_B}/pipeline" in message
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1
    assert len(requests_to(sim, "POST", "/pipeline")) == 1


def test_a_server_that_never_answers_leaves_the_trigger_ambiguous_and_says_how_to_check() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:  # accept every connection, read nothing, answer nothing
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    host = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = CircleCIClient(
        host,
        Token("t0ken", "CIRCLE_TOKEN"),
        retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02),
        timeout=(1.0, 0.3),
    )
    try:
        with pytest.raises(AmbiguousRequest) as caught:
            trigger(client, TriggerRequest.build(PROJECT_B, branch="main"))
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    message = str(caught.value)
    assert "POST /project/gh/acme/project-b/pipeline" in message
    assert "GET /me" in message
    assert "may already have been triggered" in message
    assert f"GET {host}/api/v2/project/{PROJECT_B}/pipeline" in message


def test_api_errors_name_the_call_the_status_the_apis_message_and_a_hint(
    sim: SimServer, client: CircleCIClient, fast_clock: FastClock
) -> None:
    unknown = CircleCIClient(sim.url, Token("not-a-known-token", "T"))
    with pytest.raises(Unauthorized) as refused:
        unknown.get("/me")
    assert str(refused.value) == (
        "GET /me failed with HTTP 401: Invalid token provided. (check the token: a personal API token is required)"
    )
    missing = "/pipeline/5034460f-c7c4-4c43-9457-de07e2029e7b"
    with pytest.raises(NotFound) as not_found:
        client.get(missing)
    assert str(not_found.value) == (
        f"GET {missing} failed with HTTP 404: Pipeline not found (it does not exist, or the token cannot see it)"
    )
    sim.faults.add("GET /me", "status", status=429, seconds=60)
    short = limited_client(sim, fast_clock, rate_limit_budget=1.0)
    with pytest.raises(RateLimited) as limited:
        short.get("/me")
    assert (limited.value.method, limited.value.path, limited.value.status) == ("GET", "/me", 429)
    assert str(limited.value).startswith("GET /me failed with HTTP 429: Rate limit exceeded. (rate limited; gave up")


def test_an_artifact_downloads_from_the_api_host_with_the_token(sim: SimServer, client: CircleCIClient) -> None:
    pipeline = sim.state.create_pipeline(PROJECT_A, branch="main")
    job = sim.state.add_job(sim.state.add_workflow(pipeline.id, "build").id, "trigger", status="running")
    assert job.job_number is not None
    sim.state.add_artifact(PROJECT_A, job.job_number, "circleback/handoff.json", content=b'{"v": 1}')
    [artifact] = client.paginate(f"/project/{PROJECT_A}/{job.job_number}/artifacts")
    assert client.download(artifact["url"]) == b'{"v": 1}'
    [fetched] = [r for r in sim.state.request_log if r.path.startswith("/output/")]
    assert fetched.status == 200  # answered only because the token went with it (401 without)


@pytest.mark.parametrize(
    "shape",
    [
        "{url}/output/job/x",  # another port of this host
        "http://user:pw@{api}/output/job/x",
        "ftp://{api}/x",
        "https://user:pw@output.circle-artifacts.com/x",  # CircleCI's artifact host, but with credentials
        "http://output.circle-artifacts.com/x",  # not over https
    ],
)
def test_an_artifact_url_elsewhere_is_refused_before_any_request(
    elsewhere: tuple[str, type[_Recorder]], shape: str
) -> None:
    url, handler = elsewhere
    api = f"127.0.0.1:{_free_port()}"
    client = CircleCIClient(f"http://{api}", Token("sentinel-download-token", "T"))
    with pytest.raises(Refused, match="the token is not sent there") as caught:
        client.download(shape.format(url=url, api=api))
    assert handler.seen == []
    assert "sentinel-download-token" not in str(caught.value)
    assert "pw" not in str(caught.value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
