"""Dynamic configuration over real HTTP: the setup phase's states and ``POST /pipeline/continue``.

Every exchange is validated against CircleCI's spec by the ``sim`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import pytest
import requests

from cb_helper.sim import SimServer
from cb_helper.sim.model import SimEvent
from tests.conftest import PROJECT_B

CONTINUED = "version: 2.1\nworkflows:\n  tests:\n    jobs: [unit]\n"


@pytest.fixture
def http(sim: SimServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Circle-Token"] = sim.token
    yield session
    session.close()


def in_setup(sim: SimServer, http: requests.Session, parameters: Optional[dict[str, Any]] = None) -> tuple[str, str]:
    """A pipeline triggered through the API whose config turned out to be a setup config: (id, key)."""
    answer = http.post(sim.url + f"/api/v2/project/{PROJECT_B}/pipeline", json={"parameters": parameters or {}})
    assert answer.status_code == 201, answer.text
    pipeline_id = answer.json()["id"]
    key = sim.state.begin_setup(pipeline_id)
    assert sim.state.get_pipeline(pipeline_id).state == "setup-pending"
    sim.state.add_workflow(pipeline_id, "setup")
    sim.state.set_pipeline_state(pipeline_id, "setup")
    return pipeline_id, key


def continue_(
    sim: SimServer, http: requests.Session, key: str, config: str = CONTINUED, **parameters: Any
) -> requests.Response:
    body = {"continuation-key": key, "configuration": config, "parameters": parameters}
    return http.post(sim.url + "/api/v2/pipeline/continue", json=body)


def test_a_continued_pipeline_goes_pending_and_the_driver_is_told_the_config(
    sim: SimServer, http: requests.Session
) -> None:
    events: list[SimEvent] = []
    sim.state.add_listener(events.append)
    pipeline_id, key = in_setup(sim, http, {"circleback": "{}"})
    assert http.get(sim.url + f"/api/v2/pipeline/{pipeline_id}").json()["state"] == "setup"
    answer = continue_(sim, http, key, run_integration=True)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"message"}
    assert http.get(sim.url + f"/api/v2/pipeline/{pipeline_id}").json()["state"] == "pending"
    [continued] = [e for e in events if e.kind == "pipeline_continued"]
    assert continued.pipeline_id == pipeline_id
    assert continued.data == {
        "configuration": CONTINUED,
        "parameters": {"circleback": "{}", "run_integration": True},  # the trigger's stay
    }
    assert key not in str(sim.state.request_log)  # a credential: never logged, like the token
    assert key not in http.get(sim.url + f"/api/v2/pipeline/{pipeline_id}").text


def test_a_key_continues_once(sim: SimServer, http: requests.Session) -> None:
    _, key = in_setup(sim, http)
    assert continue_(sim, http, key).status_code == 200
    again = continue_(sim, http, key)
    assert again.status_code == 400
    assert again.json() == {"message": "This pipeline has already been continued."}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("version: 2.1\nsetup: true\nworkflows: {}\n", "cannot itself be a setup config"),
        ("version: 2.1\nworkflows: [\n", "not valid YAML"),
        ("- a list\n", "not a mapping"),
        ("version: 2\nworkflows: {}\n", "has version 2 (expected 2.1)"),
    ],
)
def test_a_config_circleci_would_not_compile_is_refused_and_the_key_stays_usable(
    sim: SimServer, http: requests.Session, config: str, problem: str
) -> None:
    pipeline_id, key = in_setup(sim, http)
    refused = continue_(sim, http, key, config)
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert message.startswith("config compilation contains errors: ")
    assert problem in message
    assert sim.state.get_pipeline(pipeline_id).state == "setup"
    assert continue_(sim, http, key).status_code == 200


def test_a_parameter_given_at_trigger_time_cannot_be_given_again(sim: SimServer, http: requests.Session) -> None:
    _, key = in_setup(sim, http, {"circleback": "{}"})
    refused = continue_(sim, http, key, circleback="{}")
    assert refused.status_code == 400
    assert "circleback were given when the pipeline was triggered" in refused.json()["message"]


def test_the_driver_compiles_the_config_before_it_is_accepted(sim: SimServer, http: requests.Session) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def check(pipeline: Any, configuration: str, parameters: Any) -> Optional[str]:
        seen.append((pipeline.id, dict(parameters)))
        return "Unexpected argument(s): circleback"

    sim.state.continuation_check = check
    pipeline_id, key = in_setup(sim, http, {"circleback": "{}"})
    refused = continue_(sim, http, key)
    assert refused.json() == {"message": "config compilation contains errors: Unexpected argument(s): circleback"}
    assert seen == [(pipeline_id, {"circleback": "{}"})]
    assert sim.state.get_pipeline(pipeline_id).state == "setup"


@pytest.mark.sim_bad_requests  # bodies without the spec's required fields, on purpose
def test_unknown_keys_pipelines_out_of_setup_and_bad_bodies_are_refused(sim: SimServer, http: requests.Session) -> None:
    assert continue_(sim, http, "no-such-key").json() == {"message": "Invalid continuation key."}
    pipeline_id, key = in_setup(sim, http)
    sim.state.mark_pipeline_errored(pipeline_id, [("config", "broken")])
    late = continue_(sim, http, key)
    assert late.status_code == 400
    assert late.json() == {"message": "This pipeline is not in its setup phase (it is errored)."}
    for body in (
        {"configuration": CONTINUED},
        {"continuation-key": key},
        {"continuation-key": key, "configuration": 3},
    ):
        answer = http.post(sim.url + "/api/v2/pipeline/continue", json=body)
        assert answer.status_code == 400
        assert answer.json() == {"message": "Unexpected request body provided."}


@pytest.mark.sim_bad_requests  # the spec asks every operation for a token; the key is this one's credential
def test_the_key_is_the_credential_no_token_is_needed(sim: SimServer) -> None:
    with requests.Session() as bare:
        pipeline_id, key = in_setup(sim, _authed(sim))
        body = {"continuation-key": key, "configuration": CONTINUED}
        assert bare.post(sim.url + "/api/v2/pipeline/continue", json=body).status_code == 200
    assert sim.state.get_pipeline(pipeline_id).continued


def _authed(sim: SimServer) -> requests.Session:
    session = requests.Session()
    session.headers["Circle-Token"] = sim.token
    return session
