"""API calls per command and per whole circleback, counted from the simulator's request log.

A scripted circleback, every command run in-process against the simulator: A's trigger (with start
verification), B's circle-back (by workflow id, the orb's way, and by pipeline id), A's check (``status
--wait`` with the defaults, while B's last job still runs for a second, as with a final circle_back job).
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator, Sequence

from cb_helper.cli import main
from cb_helper.sim import SimEvent, SimServer, SimState

A = "gh/bench/project-a"
B = "gh/bench/project-b"
HOLD = "wait-for-triggered-pipeline"


@contextlib.contextmanager
def _environment(server: SimServer) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in ("CIRCLECI_HOST", "CIRCLE_TOKEN")}
    os.environ.update({"CIRCLECI_HOST": server.url, "CIRCLE_TOKEN": server.token})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run(state: SimState, args: Sequence[str]) -> tuple[int, list[str]]:
    """Run one command; return its exit status and the requests it made (method and path)."""
    state.clear_request_log()
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(list(args))
    if code != 0:
        raise RuntimeError(f"cb-helper {' '.join(args)} exited {code}: {out.getvalue()}{err.getvalue()}")
    return code, [f"{r.method} {r.path}" for r in state.request_log]


def circleback() -> list[tuple[str, list[str]]]:
    """Each step of one circleback and the calls it made."""
    state = SimState()
    state.add_project(A)
    state.add_project(B)
    upstream = state.create_pipeline(A)
    a_workflow = state.add_workflow(upstream.id, "build-and-integrate")
    trigger_job = state.add_job(a_workflow.id, "trigger-project-b", status="running")
    hold = state.add_job(a_workflow.id, HOLD, type="approval", requires={trigger_job.id: ["success"]})
    b_jobs: dict[str, str] = {}

    def b_starts(event: SimEvent) -> None:
        if event.kind == "pipeline_triggered" and not b_jobs:
            workflow = state.add_workflow(event.pipeline_id, "tests")
            b_jobs["tests"] = state.add_job(workflow.id, "tests", status="running").id
            b_jobs["circle-back"] = state.add_job(
                workflow.id, "circle-back", requires={b_jobs["tests"]: ["success"]}
            ).id

    state.add_listener(b_starts)
    steps: list[tuple[str, list[str]]] = []
    with SimServer(state) as server, _environment(server):
        _, calls = _run(state, ["trigger", "--project", B, "--branch", "main",
                                "--parameter", f"triggering-workflow-id={a_workflow.id}",
                                "--parameter", f"triggering-pipeline-id={upstream.id}"])  # fmt: skip
        steps.append(("A: trigger (with start verification)", calls))
        downstream = next(c.split("/")[2] for c in calls if c.startswith("GET /pipeline/"))
        state.set_job_status(trigger_job.id, "success")
        state.set_job_status(hold.id, "on_hold")
        state.set_job_status(b_jobs["tests"], "success")
        state.set_job_status(b_jobs["circle-back"], "running")
        _, calls = _run(state, ["approve", "--job-name", HOLD, "--workflow-id", a_workflow.id, "--allow-project", A])
        steps.append(("B: approve --workflow-id", calls))
        # B's circle_back job ends a second after it approved; A's check starts at once and waits for it.
        finish = threading.Timer(1.0, state.set_job_status, args=(b_jobs["circle-back"], "success"))
        finish.start()
        try:
            _, calls = _run(state, ["status", "--pipeline-id", downstream, "--wait"])
        finally:
            finish.cancel()
        steps.append(("A: status --wait (B's last job ends 1 s later)", calls))
    return steps


def approve_by_pipeline_id() -> list[str]:
    """The calls of ``approve --pipeline-id`` (B knows only A's pipeline id)."""
    state = SimState()
    state.add_project(A)
    upstream = state.create_pipeline(A)
    workflow = state.add_workflow(upstream.id, "build-and-integrate")
    state.add_job(workflow.id, HOLD, type="approval", status="on_hold")
    with SimServer(state) as server, _environment(server):
        _, calls = _run(state, ["approve", "--job-name", HOLD, "--pipeline-id", upstream.id])
    return calls


def report() -> None:
    steps = circleback()
    print("API calls (simulator request log):")
    for name, calls in steps:
        print(f"  {name}: {len(calls)}  [{', '.join(_shape(c) for c in calls)}]")
    print(f"  whole circleback: {sum(len(c) for _, c in steps)}")
    calls = approve_by_pipeline_id()
    print(f"  approve --pipeline-id (instead): {len(calls)}  [{', '.join(_shape(c) for c in calls)}]")


def _shape(call: str) -> str:
    """``GET /workflow/<id>/job`` without the ids."""
    method, path = call.split(" ", 1)
    parts = ["{id}" if len(p) == 36 and p.count("-") == 4 else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"
