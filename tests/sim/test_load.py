"""Under load: 200 concurrent requests from 20 threads, no error, consistent state."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from cb_helper.sim import SimEvent, SimServer
from tests.conftest import PROJECT_A, PROJECT_B

THREADS = 20
PER_THREAD = 10


def test_200_concurrent_requests_from_20_threads(sim: SimServer) -> None:
    state = sim.state
    workflow = state.add_workflow(state.create_pipeline(PROJECT_A).id, "build")
    holds = [state.add_job(workflow.id, f"hold-{i}", type="approval", status="on_hold") for i in range(THREADS)]
    approved: list[str] = []
    lock = threading.Lock()

    def on_event(event: SimEvent) -> None:
        if event.kind == "job_approved" and event.job_id is not None:
            with lock:
                approved.append(event.job_id)

    state.add_listener(on_event)
    start = threading.Barrier(THREADS)

    def worker(index: int) -> list[int]:
        statuses: list[int] = []
        with requests.Session() as http:
            http.headers["Circle-Token"] = sim.token
            api = sim.url + "/api/v2"
            start.wait(timeout=30)
            for round_ in range(PER_THREAD):
                if round_ < 4:  # 80 triggers in all
                    slug = PROJECT_B if index % 2 else PROJECT_A
                    response = http.post(f"{api}/project/{slug}/pipeline", json={"parameters": {"i": index}})
                elif round_ == 4:  # each thread approves its own hold once
                    response = http.post(f"{api}/workflow/{workflow.id}/approve/{holds[index].id}")
                else:
                    path = ("/me", f"/workflow/{workflow.id}/job", f"/project/{PROJECT_B}/pipeline")[round_ % 3]
                    response = http.get(api + path)
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(worker, range(THREADS), timeout=120))

    statuses = [s for per_thread in results for s in per_thread]
    assert len(statuses) == THREADS * PER_THREAD == 200
    assert set(statuses) <= {200, 201, 202}, sorted(set(statuses))
    assert statuses.count(201) == THREADS * 4
    assert statuses.count(202) == THREADS
    assert len(state.request_log) == 200
    # Consistent state: every pipeline got a distinct, gap-free number within its project.
    for slug in (PROJECT_A, PROJECT_B):
        numbers = sorted(p.number for p in state.pipelines_of(slug))
        assert numbers == list(range(1, len(numbers) + 1))
    assert len(state.pipelines_of(PROJECT_A)) + len(state.pipelines_of(PROJECT_B)) == THREADS * 4 + 1
    assert {job.status for job in state.jobs_of(workflow.id)} == {"success"}
    assert state.workflow_status(workflow.id) == "success"
    assert sorted(approved) == sorted(h.id for h in holds)
