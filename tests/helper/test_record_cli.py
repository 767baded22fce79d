"""The circleback record through the CLI against the simulator: trigger hands it off, approve proves it, status
explains the release, sweep releases what nobody will."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cb_helper.api.errors import BadInput
from cb_helper.api.times import format_time, now
from cb_helper.pattern.record import HANDOFF_ARTIFACT, RECEIPT_ARTIFACT, Record, parse_handoff, parse_record
from cb_helper.sim import SimServer
from tests.helper.conftest import HOLD, PROJECT_A, PROJECT_B, Run, finish_downstream, make_upstream

OTHER = "5034460f-c7c4-4c43-9457-de07e2029e7b"


def handed_off(
    sim: SimServer, run: Run, tmp_path: Path, *extra: str, hold_status: str = "on_hold"
) -> tuple[Any, dict[str, Any]]:
    """A's hold on hold, B triggered with the record while A's trigger job runs, and the handoff stored as that
    job's artifact (as A's trigger job does: the sweep believes only a B created while it ran)."""
    upstream = make_upstream(sim, hold_status="blocked")
    handoff_file = tmp_path / "handoff.json"
    result = run(
        "trigger",
        "--project",
        PROJECT_B,
        "--branch",
        "main",
        "--no-verify-start",
        "--upstream-workflow-id",
        upstream.workflow_id,
        "--handoff-file",
        str(handoff_file),
        *extra,
    )
    assert result.code == 0, result.output
    if hold_status != "blocked":
        sim.state.set_job_status(upstream.jobs["trigger"], "success")
        sim.state.set_job_status(upstream.hold_id, hold_status)
    number = sim.state.get_job(upstream.jobs["trigger"]).job_number
    assert number is not None
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=handoff_file.read_bytes())
    return upstream, json.loads(handoff_file.read_text())


def approve_calls(sim: SimServer) -> list[str]:
    return [r.path for r in sim.state.request_log if "/approve/" in r.path]


# --- the record --------------------------------------------------------------------------------


def _record(**changes: Any) -> dict[str, Any]:
    data = Record(PROJECT_A, OTHER, 7, OTHER, HOLD, now(), PROJECT_B).as_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{", "not JSON"),
        ("[1]", "expected a JSON object"),
        (json.dumps(_record(v=2)), "record version 2"),
        (json.dumps(_record(v=True)), "record version True"),
        (json.dumps({k: v for k, v in _record().items() if k != "hold"}), "lacks the field(s) hold"),
        (json.dumps(_record(extra=1)), "unknown field(s) extra"),
        (json.dumps(_record(workflow_id="wf-1")), "workflow_id 'wf-1' is not a UUID"),
        (json.dumps(_record(pipeline_id=OTHER.upper())), "is not a UUID"),
        (json.dumps(_record(pipeline_number=0)), "pipeline_number 0"),
        (json.dumps(_record(project="acme/a")), "'acme/a' is malformed"),
        (json.dumps(_record(hold=" ")), "hold ' '"),
        (json.dumps(_record(deadline="2026-12-03T18:00:00+01:00")), "not an RFC 3339 time in UTC"),
    ],
)
def test_a_malformed_record_is_one_line_naming_what_is_wrong(data: str, expected: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_record(data)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_record_round_trips_and_empty_means_not_triggered() -> None:
    record = Record(PROJECT_A, OTHER, 7, OTHER, HOLD, now().replace(microsecond=0), PROJECT_B)
    assert parse_record(record.encode()) == record
    assert parse_record("") is None
    assert parse_record("  ") is None
    assert len(record.encode()) < 300  # far below the 512 of a parameter value


def test_a_record_over_the_parameter_limit_is_refused_before_anything_is_triggered(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    upstream = make_upstream(sim)
    long_hold = "h" * 300
    sim.state.add_job(
        upstream.workflow_id, long_hold, type="approval", requires={upstream.jobs["trigger"]: ["success"]}
    )
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", upstream.workflow_id,
        "--hold", long_hold,
    )  # fmt: skip
    assert result.code == 2, result.output
    assert "over CircleCI's limit of 512" in result.stderr
    assert "legacy two-parameter handoff" in result.stderr
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_trigger_hands_b_one_record_read_from_the_api(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, handoff = handed_off(sim, run, tmp_path, "--deadline", "90m")
    [b] = sim.state.pipelines_of(PROJECT_B)
    assert list(b.parameters) == ["circleback"]
    record = parse_record(b.parameters["circleback"])
    assert record is not None
    assert (record.project, record.pipeline_id, record.workflow_id, record.hold, record.downstream) == (
        PROJECT_A,
        upstream.pipeline_id,
        upstream.workflow_id,
        HOLD,
        PROJECT_B,
    )
    assert timedelta(minutes=89) < record.deadline - now() <= timedelta(minutes=90)
    assert parse_handoff(json.dumps(handoff), "handoff").record == record
    assert handoff["downstream_pipeline_id"] == b.id


def test_a_misspelt_hold_fails_the_trigger_before_b_is_triggered(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim)
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", upstream.workflow_id,
        "--hold", "wait-for-b",
    )  # fmt: skip
    assert result.code == 2, result.output
    assert f"no job named 'wait-for-b' (its approval jobs: {HOLD}); nothing triggered" in result.stderr
    assert sim.state.pipelines_of(PROJECT_B) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--deadline", "soon"), "--deadline 'soon' is not a duration"),
        (("--deadline", "0s"), "not a positive duration"),
        (("--record-parameter", "a=b"), "--record-parameter 'a=b'"),
        (("--parameter", "circleback=x"), "given twice"),
        (("--hold", ""), "--hold '' is empty"),
    ],
)
def test_bad_record_options_are_refused_before_any_call(
    sim: SimServer, run: Run, args: tuple[str, ...], expected: str
) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", OTHER, *args)
    assert result.code == 2, result.output
    assert expected in result.stderr
    assert sim.state.request_log == []


# --- the proof ---------------------------------------------------------------------------------


def test_a_proven_record_is_approved_and_the_receipt_says_so(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    receipt = tmp_path / "receipt.json"
    proved = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
        "--receipt", str(receipt), "--prove-only", "--allow-project", PROJECT_A,
    )  # fmt: skip
    assert proved.code == 0, proved.output
    assert approve_calls(sim) == []  # proving approves nothing
    data = json.loads(receipt.read_text())
    assert data["outcome"] == "proven"
    assert data["downstream_pipeline_id"] == b.id
    assert data["upstream"] == handoff["record"]
    approved = run("approve", "--from-receipt", str(receipt))
    assert approved.code == 0, approved.output
    assert sim.state.get_job(upstream.hold_id).status == "success"
    assert len(sim.state.effects("approve", job_id=upstream.hold_id)) == 1


def test_a_record_copied_to_another_pipeline_is_refused(sim: SimServer, run: Run, tmp_path: Path) -> None:
    """The handoff names the B pipeline A triggered; a second B run by hand with the same record is not it."""
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    copy = sim.state.create_pipeline(PROJECT_B, branch="main", parameters=dict(b.parameters))
    result = run("approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", copy.id)
    assert result.code == 3, result.output
    assert f"the record is not proven: no job that '{HOLD}'" in result.stderr
    assert f"naming pipeline {copy.id}; nothing approved" in result.stderr
    assert approve_calls(sim) == []
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"


def test_a_record_differing_from_the_stored_one_is_refused(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _upstream, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    later = dict(handoff["record"], deadline=format_time(now() + timedelta(days=30)))  # a forged longer deadline
    result = run("approve", "--upstream", json.dumps(later), "--downstream-pipeline-id", b.id)
    assert result.code == 3, result.output
    assert approve_calls(sim) == []


def test_allowed_projects_are_checked_against_the_api_not_the_record(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    claimed = dict(handoff["record"], project="gh/acme/trusted")  # the record's own text claims another project
    result = run(
        "approve", "--upstream", json.dumps(claimed), "--downstream-pipeline-id", b.id,
        "--allow-project", "gh/acme/trusted",
    )  # fmt: skip
    assert result.code == 3, result.output
    assert f"belongs to project {PROJECT_A}, which is not among the allowed projects" in result.stderr
    assert approve_calls(sim) == []


def test_an_empty_record_is_not_triggered_and_a_missing_receipt_approves_nothing(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    receipt = tmp_path / "receipt.json"
    result = run("approve", "--upstream", "", "--receipt", str(receipt), "--prove-only")
    assert result.code == 0, result.output
    assert "not triggered by an upstream" in result.stderr
    assert run("approve", "--from-receipt", str(receipt)).code == 0
    missing = run("approve", "--from-receipt", str(tmp_path / "none.json"))
    assert missing.code == 2
    assert "nothing is approved" in missing.stderr
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({"v": 1, "outcome": "proven", "workflow_id": "../me", "approval_request_id": OTHER}))
    refused = run("approve", "--from-receipt", str(tampered))
    assert refused.code == 2
    assert "workflow_id '../me' is not a UUID; nothing approved" in refused.stderr
    assert sim.state.request_log == []


# --- why A was released ------------------------------------------------------------------------


def _status(run: Run, tmp_path: Path) -> Any:
    return run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--json")


def test_status_says_b_circled_back_when_its_receipt_is_stored(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    workflow = finish_downstream(sim, b.id, {"tests": "success", "circle-back": "success"})
    number = next(j for j in sim.state.jobs_of(workflow.id) if j.name == "circle-back").job_number
    assert number is not None
    receipt = {"v": 1, "outcome": "approved", "upstream": handoff["record"], "downstream_pipeline_id": b.id}
    sim.state.add_artifact(PROJECT_B, number, RECEIPT_ARTIFACT, content=json.dumps(receipt).encode())
    result = _status(run, tmp_path)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["release"]["reason"] == "circled_back"
    plain = run("status", "--handoff-file", str(tmp_path / "handoff.json"))
    assert f"released: {PROJECT_B} circled back: success" in plain.stdout


def test_status_says_b_finished_without_circling_back(sim: SimServer, run: Run, tmp_path: Path) -> None:
    handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "failed"})
    result = _status(run, tmp_path)
    assert result.code == 1, result.output
    data = json.loads(result.stdout)
    assert data["release"]["reason"] == "swept_finished"
    assert "without circling back" in data["release"]["text"]


def test_status_says_b_never_started(sim: SimServer, run: Run, tmp_path: Path) -> None:
    handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.state.mark_pipeline_errored(b.id, [("config", "broken")])
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--wait", "--timeout", "300")
    assert result.code == 5, result.output
    assert f"released: {PROJECT_B} never started: its pipeline errored" in result.stdout


def test_status_past_the_deadline_is_exit_4_without_waiting(sim: SimServer, run: Run, tmp_path: Path) -> None:
    handed_off(sim, run, tmp_path, "--deadline", "1s")
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "running"})
    (tmp_path / "handoff.json").write_text(
        (tmp_path / "handoff.json")
        .read_text()
        .replace(
            json.loads((tmp_path / "handoff.json").read_text())["record"]["deadline"],
            format_time(now() - timedelta(minutes=1)),
        )
    )
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--wait", "--timeout", "600")
    assert result.code == 4, result.output
    assert "passed and gh/acme/project-b is still running" in result.stdout


def test_status_separates_a_cancel_before_the_deadline_from_one_after(sim: SimServer, run: Run, tmp_path: Path) -> None:
    handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    workflow = finish_downstream(sim, b.id, {"tests": "running"})
    sim.state.cancel_workflow(workflow.id)
    early = _status(run, tmp_path)
    assert early.code == 5, early.output
    assert json.loads(early.stdout)["release"]["reason"] == "canceled"
    handoff = json.loads((tmp_path / "handoff.json").read_text())
    handoff["record"]["deadline"] = format_time(now() - timedelta(hours=1))
    (tmp_path / "handoff.json").write_text(json.dumps(handoff))
    late = _status(run, tmp_path)
    assert late.code == 4, late.output
    assert json.loads(late.stdout)["release"]["reason"] == "deadline_passed"


# --- the sweep ---------------------------------------------------------------------------------


def test_sweep_dry_run_plans_and_changes_nothing(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "success"})
    planned = run("sweep", "--project", PROJECT_A, "--grace", "0s", "--dry-run", "--json")
    assert planned.code == 0, planned.output
    [hold] = json.loads(planned.stdout)["holds"]
    assert (hold["decision"], hold["done"], hold["hold"]) == ("release", [], HOLD)
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"
    assert [r for r in sim.state.request_log if r.method == "POST" and "/approve/" in r.path] == []
    done = run("sweep", "--project", PROJECT_A, "--grace", "0s", "--json")
    assert json.loads(done.stdout)["holds"][0]["done"] == ["released the hold"]
    assert sim.state.get_job(upstream.hold_id).status == "success"


def test_sweep_waits_out_the_grace_period_and_releases_an_errored_b(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    finish_downstream(sim, b.id, {"tests": "success"})
    waiting = run("sweep", "--project", PROJECT_A)  # grace 10m: B may still circle back
    assert waiting.code == 0, waiting.output
    assert "within the grace period for its circle-back -> waiting" in waiting.stdout
    assert sim.state.get_job(upstream.hold_id).status == "on_hold"
    other, second = handed_off(sim, run, tmp_path / "second")
    sim.state.mark_pipeline_errored(second["downstream_pipeline_id"], [("config", "broken")])
    released = run("sweep", "--project", PROJECT_A)
    assert "B never started: its pipeline errored -> released the hold" in released.stdout
    assert sim.state.get_job(other.hold_id).status == "success"


def test_sweep_stops_paging_at_since(sim: SimServer, run: Run) -> None:
    for _ in range(45):
        sim.state.create_pipeline(PROJECT_A, branch="main")
    result = run("sweep", "--project", PROJECT_A, "--since", "1h")
    assert result.code == 0, result.output
    listed = [r for r in sim.state.request_log if r.path == f"/project/{PROJECT_A}/pipeline"]
    assert len(listed) == 3  # every pipeline is recent: all pages
    sim.state.clear_request_log()
    time.sleep(1.1)  # now every pipeline is older than --since 1s
    older = run("sweep", "--project", PROJECT_A, "--since", "1s")
    assert older.code == 0
    assert len([r for r in sim.state.request_log if r.path == f"/project/{PROJECT_A}/pipeline"]) == 1


def test_sweep_never_shows_the_token(sim: SimServer, run: Run, tmp_path: Path) -> None:
    handed_off(sim, run, tmp_path)
    result = run("--debug", "sweep", "--project", PROJECT_A, "--json", env={"CIRCLE_TOKEN": sim.token})
    assert result.code == 0
    assert f"GET /project/{PROJECT_A}/pipeline" in result.stderr  # every call was logged
    assert "artifacts" in result.stderr  # the handoff was downloaded with the token
    assert sim.token not in result.output


@pytest.mark.parametrize(
    ("hold", "approvals", "what", "listed"),
    [
        ("check", (), "a build job, not an approval job,", HOLD),
        ("wait-for-b", ("a-second-gate",), "no job", f"a-second-gate, {HOLD}"),
    ],
)
def test_a_hold_that_is_no_approval_job_is_named_with_the_approval_jobs_there(
    sim: SimServer, run: Run, hold: str, approvals: tuple[str, ...], what: str, listed: str
) -> None:
    upstream = make_upstream(sim)
    for name in approvals:
        sim.state.add_job(upstream.workflow_id, name, type="approval")
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", upstream.workflow_id,
        "--hold", hold,
    )  # fmt: skip
    assert result.code == 2, result.output
    assert result.stderr.strip().endswith(
        f"workflow {upstream.workflow_id} has {what} named {hold!r} (its approval jobs: {listed}); "
        "nothing triggered. Name the approval job that follows the trigger"
    )
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_a_workflow_without_approval_jobs_says_none(sim: SimServer, run: Run) -> None:
    pipeline = sim.state.create_pipeline(PROJECT_A, branch="main")
    workflow = sim.state.add_workflow(pipeline.id, "build")
    sim.state.add_job(workflow.id, "trigger", status="running")
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", workflow.id,
    )  # fmt: skip
    assert result.code == 2, result.output
    assert f"named {HOLD!r} (its approval jobs: none); nothing triggered" in result.stderr
