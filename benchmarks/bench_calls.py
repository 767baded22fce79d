"""API calls per command and per whole circleback, counted from the simulator's request log.

A scripted circleback, every command run in-process against the simulator, wired as the orb wires it: A's trigger
with the circleback record (with start verification), B's circle-back (prove the record, then approve from the
receipt), A's check (``status --handoff-file --wait --html`` with the defaults, while B's last job still runs for a
second, as with a final circle_back job). The legacy ids' approve is counted for comparison.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from cb_helper.cli import main
from cb_helper.pattern.record import HANDOFF_ARTIFACT, RECEIPT_ARTIFACT
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


def circleback(tmp: Path) -> list[tuple[str, list[str]]]:
    """Each step of one circleback with the circleback record (the orb's default wiring) and the calls it made."""
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
    handoff, receipt = tmp / "handoff.json", tmp / "receipt.json"
    with SimServer(state) as server, _environment(server):
        _, calls = _run(state, ["trigger", "--project", B, "--branch", "main",
                                "--upstream-workflow-id", a_workflow.id, "--handoff-file", str(handoff)])  # fmt: skip
        steps.append(("A: trigger with the record (with start verification)", calls))
        state.set_job_status(trigger_job.id, "success")
        number = state.get_job(trigger_job.id).job_number or 0
        state.add_artifact(A, number, HANDOFF_ARTIFACT, content=handoff.read_bytes())  # the trigger job stores it
        state.set_job_status(hold.id, "on_hold")
        state.set_job_status(b_jobs["tests"], "success")
        state.set_job_status(b_jobs["circle-back"], "running")
        record = json.loads(handoff.read_text())
        _, calls = _run(state, ["approve", "--upstream", json.dumps(record["record"]),
                                "--downstream-pipeline-id", record["downstream_pipeline_id"],
                                "--receipt", str(receipt), "--prove-only"])  # fmt: skip
        steps.append(("B: approve --prove-only (proves the record)", calls))
        number = state.get_job(b_jobs["circle-back"]).job_number or 0
        state.add_artifact(B, number, RECEIPT_ARTIFACT, content=receipt.read_bytes())  # stored before approving
        _, calls = _run(state, ["approve", "--from-receipt", str(receipt)])
        steps.append(("B: approve --from-receipt", calls))
        # B's circle_back job ends a second after it approved; A's check starts at once and waits for it.
        finish = threading.Timer(1.0, state.set_job_status, args=(b_jobs["circle-back"], "success"))
        finish.start()
        try:
            page = str(handoff.parent / "report.html")  # the orb's check always draws the page
            _, calls = _run(state, ["status", "--handoff-file", str(handoff), "--wait", "--html", page])
        finally:
            finish.cancel()
        steps.append(("A: status --handoff-file --wait --html (B's last job ends 1 s later)", calls))
    return steps


def approve_by_workflow_id() -> list[str]:
    """The calls of the legacy ``approve --workflow-id`` (no record to prove)."""
    state = SimState()
    state.add_project(A)
    upstream = state.create_pipeline(A)
    workflow = state.add_workflow(upstream.id, "build-and-integrate")
    state.add_job(workflow.id, HOLD, type="approval", status="on_hold")
    with SimServer(state) as server, _environment(server):
        _, calls = _run(state, ["approve", "--job-name", HOLD, "--workflow-id", workflow.id, "--allow-project", A])
    return calls


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
    with tempfile.TemporaryDirectory(prefix="cb-bench-") as tmp:
        steps = circleback(Path(tmp))
    print("API calls (simulator request log):")
    for name, calls in steps:
        print(f"  {name}: {len(calls)}  [{', '.join(_shape(c) for c in calls)}]")
    print(f"  whole circleback: {sum(len(c) for _, c in steps)}")
    calls = approve_by_workflow_id()
    print(f"  legacy approve --workflow-id (instead of the two approve steps): {len(calls)}  "
          f"[{', '.join(_shape(c) for c in calls)}]")  # fmt: skip
    calls = approve_by_pipeline_id()
    print(f"  legacy approve --pipeline-id: {len(calls)}  [{', '.join(_shape(c) for c in calls)}]")


def _shape(call: str) -> str:
    """``GET /workflow/<id>/job`` without the ids."""
    method, path = call.split(" ", 1)
    parts = ["{id}" if len(p) == 36 and p.count("-") == 4 else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"
