"""Faults at a seeded rate and a per-token rate limit, over real HTTP."""

from __future__ import annotations

import pytest
import requests

from cb_helper.sim import FaultPlan, SimServer, SimState
from cb_helper.sim.chaos import CHAOS_KINDS, shape
from tests.conftest import PROJECT_A, PROJECT_B


def traffic(server: SimServer, count: int) -> list[tuple[str, str, int]]:
    """``count`` GETs of /me and of a pipeline list, and one trigger each; returns what each got."""
    session = requests.Session()
    session.headers["Circle-Token"] = server.token
    seen = []
    for _ in range(count):
        for method, path in (("GET", "/me"), ("GET", f"/project/{PROJECT_A}/pipeline"), ("POST", "/me")):
            try:
                status = session.request(method, server.api_url + path, timeout=0.5).status_code
            except requests.RequestException:
                status = 0
            seen.append((method, path, status))
    session.close()
    return seen


def fresh() -> SimServer:
    state = SimState()
    state.add_project(PROJECT_A)
    return SimServer(state)


def test_a_seed_replays_the_same_faults_on_the_same_requests() -> None:
    runs = []
    for _ in range(2):
        with fresh() as server:
            server.faults.set_rate(0.3, seed=42, slow=0.6)
            traffic(server, 15)
            runs.append(server.faults.injections())
    assert runs[0] == runs[1]
    assert 5 <= len(runs[0]) <= 25  # about 30% of 45 requests
    with fresh() as server:
        server.faults.set_rate(0.3, seed=43, slow=0.6)
        traffic(server, 15)
        assert server.faults.injections() != runs[0]


def test_each_kind_only_where_it_applies() -> None:
    plan = FaultPlan()
    plan.set_rate(1.0, seed=1)
    kinds = {plan.take("GET", f"/x/{n}").kind for n in range(200)}  # type: ignore[union-attr]
    assert "act_then_fail" not in kinds  # only for POSTs
    labels = {label for _, _, label in plan.injections()}
    assert "stale_page_token" not in labels  # only for requests with a page token
    assert labels == set(CHAOS_KINDS) - {"act_then_fail", "stale_page_token"}
    paged = plan.take("GET", "/pipeline/1/workflow", has_page_token=True)
    posts = {plan.take("POST", f"/y/{n}").kind for n in range(200)}  # type: ignore[union-attr]
    assert paged is not None
    assert "act_then_fail" in posts


def test_shape_hides_ids_and_numbers() -> None:
    path = "/workflow/5bf05d2e-dd84-4f49-ab2d-7be68200c563/approve/d64181fc-dcd0-46ac-b744-e4415d36c99a"
    assert shape("POST", path) == "POST /workflow/*/approve/*"
    assert shape("GET", "/project/gh/acme/project-b/12/artifacts") == "GET /project/gh/acme/project-b/*/artifacts"


@pytest.mark.parametrize(("rate", "kinds"), [(1.5, CHAOS_KINDS), (0.5, ("teapot",)), (0.5, ())])
def test_bad_rate_settings_are_refused(rate: float, kinds: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="fault"):
        FaultPlan().set_rate(rate, seed=1, kinds=kinds)


def test_past_the_limit_a_token_gets_429_with_retry_after(sim: SimServer) -> None:
    sim.faults.set_rate_limit(3, 60.0)
    other = "other-token-for-the-limit"
    sim.state.add_token(other)
    answers = [requests.get(sim.api_url + "/me", headers={"Circle-Token": sim.token}, timeout=5) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json() == {"message": "Rate limit exceeded."}
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    mine = requests.get(sim.api_url + "/me", headers={"Circle-Token": other}, timeout=5)
    assert mine.status_code == 200  # the limit is per token
    assert sim.faults.injected() == {"rate_limit": 2}
    assert [r.status for r in sim.state.request_log if r.fault] == [429, 429]
    assert sim.state.pipelines_of(PROJECT_B) == []
