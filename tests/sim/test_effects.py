"""Effective actions: approvals and cancels that changed something, counted once however often they are asked for."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests

from cb_helper.sim import Effect, SimServer
from cb_helper.sim.model import Workflow
from tests.conftest import PROJECT_A

CONCURRENT = 8


def _held(sim: SimServer) -> tuple[Workflow, str]:
    """A workflow of project A waiting on its approval job ``hold`` (another job requires the hold)."""
    state = sim.state
    workflow = state.add_workflow(state.create_pipeline(PROJECT_A).id, "main")
    hold = state.add_job(workflow.id, "hold", type="approval", status="on_hold")
    state.add_job(workflow.id, "deploy", requires={hold.id: ["success"]})
    return state.get_workflow(workflow.id), hold.id


def _all_at_once(count: int, call: Callable[[], requests.Response]) -> list[requests.Response]:
    """``count`` threads make the call at the same moment (a barrier releases them together)."""
    barrier = threading.Barrier(count)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        response = call()
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_approvals_release_the_hold_once(sim: SimServer) -> None:
    workflow, hold = _held(sim)
    url = f"{sim.api_url}/workflow/{workflow.id}/approve/{hold}"
    answers = _all_at_once(CONCURRENT, lambda: requests.post(url, headers={"Circle-Token": sim.token}, timeout=10))
    assert sorted(a.status_code for a in answers) == [202] + [409] * (CONCURRENT - 1)
    late = [a.json() for a in answers if a.status_code == 409]
    assert late == [{"message": "Approval job has already been approved."}] * (CONCURRENT - 1)
    (effect,) = sim.state.effects("approve", job_id=hold)
    assert (effect.kind, effect.workflow_id, effect.job_id) == ("approve", workflow.id, hold)
    assert effect.actor == sim.state.user_for_token(sim.token).id  # type: ignore[union-attr]
    assert sim.state.get_job(hold).status == "success"


def test_concurrent_cancels_cancel_once_and_all_are_accepted(sim: SimServer) -> None:
    workflow, _ = _held(sim)
    url = f"{sim.api_url}/workflow/{workflow.id}/cancel"
    answers = _all_at_once(CONCURRENT, lambda: requests.post(url, headers={"Circle-Token": sim.token}, timeout=10))
    assert [a.status_code for a in answers] == [202] * CONCURRENT
    (effect,) = sim.state.effects("cancel")
    assert (effect.workflow_id, effect.job_id) == (workflow.id, None)
    assert sim.state.effects("approve") == []
    assert sim.state.workflow_status(workflow.id) == "canceled"


def test_a_cancel_of_a_finished_workflow_changes_nothing(sim: SimServer) -> None:
    state = sim.state
    done = state.add_workflow(state.create_pipeline(PROJECT_A).id, "main")
    state.add_job(done.id, "build", status="success")
    response = requests.post(f"{sim.api_url}/workflow/{done.id}/cancel", headers={"Circle-Token": sim.token}, timeout=5)
    assert response.status_code == 202
    assert state.effects() == []
    assert state.get_workflow(done.id).status == "success"


def test_approving_the_hold_of_a_canceled_workflow_is_refused_and_changes_nothing(sim: SimServer) -> None:
    workflow, hold = _held(sim)
    sim.state.cancel_workflow(workflow.id)
    response = requests.post(
        f"{sim.api_url}/workflow/{workflow.id}/approve/{hold}", headers={"Circle-Token": sim.token}, timeout=5
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Approval job is not on hold (it is canceled)."}
    assert [e.kind for e in sim.state.effects()] == ["cancel"]
    assert sim.state.get_job(hold).status == "canceled"


def test_effects_are_filtered_by_kind_workflow_and_job(sim: SimServer) -> None:
    first, first_hold = _held(sim)
    second, second_hold = _held(sim)
    sim.state.approve_job(first.id, first_hold)
    sim.state.approve_job(second.id, second_hold)
    sim.state.cancel_workflow(second.id)
    assert [e.kind for e in sim.state.effects()] == ["approve", "approve", "cancel"]
    assert [e.job_id for e in sim.state.effects("approve", workflow_id=second.id)] == [second_hold]
    assert [e.kind for e in sim.state.effects(workflow_id=second.id)] == ["approve", "cancel"]
    assert all(isinstance(e, Effect) and e.time.tzinfo is not None for e in sim.state.effects())
    with pytest.raises(ValueError, match="effect kind 'approval' is not one of approve, cancel"):
        sim.state.effects("approval")
