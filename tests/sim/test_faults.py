"""Fault injection: each kind, per route and per count."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from cb_helper.sim import FaultPlan, SimServer
from tests.conftest import PROJECT_A, PROJECT_B, FastClock

TRIGGER = "POST /project/*/pipeline"


@pytest.fixture
def http(sim: SimServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Circle-Token"] = sim.token
    yield session
    session.close()


def me(sim: SimServer, http: requests.Session, timeout: float = 5.0) -> requests.Response:
    return http.get(sim.url + "/api/v2/me", timeout=timeout)


def test_429_with_retry_after_then_normal(sim: SimServer, http: requests.Session) -> None:
    fault = sim.faults.add("GET /me", "status", status=429, retry_after=3)
    limited = me(sim, http)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json() == {"message": "Rate limit exceeded."}
    assert me(sim, http).status_code == 200
    assert (fault.seen, fault.fired) == (1, 1)
    assert [(r.status, r.fault) for r in sim.state.request_log] == [(429, "status"), (200, None)]


def test_429_without_retry_after(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /me", "status", status=429)
    response = me(sim, http)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_after_and_count(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /me", "status", status=500, after=2, count=2)
    assert [me(sim, http).status_code for _ in range(5)] == [200, 200, 500, 500, 200]
    assert sim.faults.pending() == []


def test_a_rule_for_some_seconds_fires_on_every_request_until_they_pass(
    sim: SimServer, http: requests.Session, fast_clock: FastClock
) -> None:
    fault = sim.faults.add("GET /me", "status", status=429, retry_after=1, seconds=30, after=1)
    assert me(sim, http).status_code == 200  # let through: the window starts at the first firing
    fast_clock.sleep(100)
    answers = []
    for _ in range(31):
        answers.append(me(sim, http).status_code)
        fast_clock.sleep(1)
    assert answers == [429] * 30 + [200]
    assert fault.fired == 30
    assert sim.faults.pending() == []
    assert me(sim, http).status_code == 200


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_come_as_html(sim: SimServer, http: requests.Session, status: int) -> None:
    sim.faults.add("GET /me", "status", status=status)
    response = me(sim, http)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_500_is_a_json_message(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /me", "status", status=500)
    response = me(sim, http)
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error."})


def test_a_delay_longer_than_the_client_timeout(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /me", "delay", delay=2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        me(sim, http, timeout=0.3)
    assert me(sim, http).status_code == 200


def test_a_dropped_connection_does_not_act(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add(TRIGGER, "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(sim.url + f"/api/v2/project/{PROJECT_B}/pipeline", json={}, timeout=5)
    assert sim.state.pipelines_of(PROJECT_B) == []
    assert [(r.status, r.fault) for r in sim.state.request_log] == [(0, "drop")]


def test_a_truncated_body_is_not_json(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /me", "truncate")
    response = me(sim, http)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_a_truncated_answer_keeps_its_status_and_acts(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add(TRIGGER, "truncate")
    response = http.post(sim.url + f"/api/v2/project/{PROJECT_B}/pipeline", json={}, timeout=5)
    assert response.status_code == 201
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1
    assert [(r.status, r.fault) for r in sim.state.request_log] == [(201, "truncate")]


def test_stale_page_token_only_when_a_token_is_sent(sim: SimServer, http: requests.Session) -> None:
    sim.state.page_size = 1
    sim.state.create_pipeline(PROJECT_A)
    sim.state.create_pipeline(PROJECT_A)
    sim.faults.add("GET /project/*/pipeline", "stale_page_token")
    url = sim.url + f"/api/v2/project/{PROJECT_A}/pipeline"
    first = http.get(url, timeout=5)
    assert first.status_code == 200
    stale = http.get(url, params={"page-token": first.json()["next_page_token"]}, timeout=5)
    assert (stale.status_code, stale.json()) == (404, {"message": "Not Found"})
    fresh = http.get(url, params={"page-token": first.json()["next_page_token"]}, timeout=5)
    assert fresh.status_code == 200


def test_act_then_fail_creates_the_pipeline_but_answers_502(sim: SimServer, http: requests.Session) -> None:
    seen: list[str] = []
    sim.state.add_listener(lambda event: seen.append(event.kind))
    sim.faults.add(TRIGGER, "act_then_fail")
    response = http.post(sim.url + "/api/v2/project/gh%2Facme%2Fproject-b/pipeline", json={}, timeout=5)
    assert response.status_code == 502
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1
    assert seen == ["pipeline_triggered"]
    assert sim.state.request_log[0].fault == "act_then_fail"


def test_rules_match_by_method_and_glob(sim: SimServer, http: requests.Session) -> None:
    sim.faults.add("GET /workflow/*/job", "status", status=503, count=5)
    workflow = sim.state.add_workflow(sim.state.create_pipeline(PROJECT_A).id, "w")
    assert http.get(sim.url + f"/api/v2/workflow/{workflow.id}", timeout=5).status_code == 200
    assert http.get(sim.url + f"/api/v2/workflow/{workflow.id}/job", timeout=5).status_code == 503
    sim.faults.clear()
    assert http.get(sim.url + f"/api/v2/workflow/{workflow.id}/job", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("route", "kind", "options"),
    [
        ("/me", "status", {"status": 500}),
        ("get /me", "status", {"status": 500}),
        ("GET /me", "explode", {}),
        ("GET /me", "status", {"status": 418}),
        ("GET /me", "delay", {}),
        ("GET /me", "drop", {"count": 0}),
        ("GET /me", "status", {"status": 429, "retry_after": -1}),
        ("GET /me", "drop", {"retry_after": 2}),
        ("GET /me", "drop", {"status": 500}),
        ("GET /me", "truncate", {"delay": 3}),
        ("GET /me", "drop", {"seconds": 0}),
        ("GET /me", "drop", {"seconds": 5, "count": 2}),
    ],
)
def test_bad_fault_rules_are_refused(route: str, kind: str, options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="fault"):
        FaultPlan().add(route, kind, **options)
