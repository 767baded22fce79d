"""The promise holds in every wiring: the trigger refuses, before B is triggered, a hold it could not keep its
promise for; B's circle-back stops at once for a hold that will never go on hold; bad input sends nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional

import pytest

from cb_helper.api.times import now
from cb_helper.pattern.record import HANDOFF_ARTIFACT, Record, parse_record
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_A, PROJECT_B, Run, make_upstream

TRIGGER = "trigger-quick-farm"
SIGN = "sign-bundle"
HOLD = "await-quick-farm"
OTHER_ID = "5034460f-c7c4-4c43-9457-de07e2029e7b"


def a_workflow(sim: SimServer, hold_requires: tuple[str, ...], *, check: bool = True) -> tuple[str, dict[str, str]]:
    """A's workflow while its trigger job runs: ``sign-bundle`` requires the trigger, the hold requires
    ``hold_requires``, and a check requires the hold."""
    state = sim.state
    pipeline = state.create_pipeline(PROJECT_A, branch="main")
    workflow = state.add_workflow(pipeline.id, "release")
    ids: dict[str, str] = {}
    ids[TRIGGER] = state.add_job(workflow.id, TRIGGER, status="running").id
    ids[SIGN] = state.add_job(workflow.id, SIGN, requires={ids[TRIGGER]: ["success"]}).id
    needs = {ids[name]: ["success"] for name in hold_requires}
    ids[HOLD] = state.add_job(workflow.id, HOLD, type="approval", requires=needs).id
    if check:
        ids["check"] = state.add_job(workflow.id, "check", requires={ids[HOLD]: ["success"]}).id
    return workflow.id, ids


def trigger(run: Run, workflow_id: str, *extra: str, job: Optional[str] = TRIGGER) -> tuple[int, str]:
    result = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", workflow_id, "--hold", HOLD, *extra,
        env={"CIRCLE_JOB": job},
    )  # fmt: skip
    return result.code, result.stderr


def pipeline_posts(sim: SimServer) -> list[str]:
    return [r.path for r in sim.state.request_log if r.method == "POST" and r.path.endswith(("/pipeline", "/run"))]


# --- the wiring the trigger refuses, before any POST .../pipeline ------------------------------------


def test_a_hold_that_requires_the_trigger_only_through_a_build_job_is_refused_with_the_fix(
    sim: SimServer, run: Run
) -> None:
    workflow_id, _ = a_workflow(sim, (SIGN,))
    code, stderr = trigger(run, workflow_id)
    assert code == 2, stderr
    assert stderr.count("\n") == 1
    assert f"approval job {HOLD!r} must require this trigger job {TRIGGER!r} directly" in stderr
    assert f"({TRIGGER} -> {SIGN} -> {HOLD})" in stderr
    assert f"nothing triggered. Add {TRIGGER} to the requires of {HOLD} (requires: [{SIGN}, {TRIGGER}])" in stderr
    assert pipeline_posts(sim) == []
    assert sim.state.pipelines_of(PROJECT_B) == []


def test_a_hold_that_does_not_require_the_trigger_at_all_is_refused(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, ())
    other = sim.state.add_job(workflow_id, "lint", status="running")
    sim.state.add_job(workflow_id, "gate", type="approval", requires={other.id: ["success"]})
    code, stderr = trigger(run, workflow_id, "--hold", "gate")
    assert code == 2, stderr
    assert f"it does not require {TRIGGER!r} at all (it requires: lint)" in stderr
    assert pipeline_posts(sim) == []


def test_without_the_trigger_jobs_name_a_hold_requiring_no_build_job_is_refused(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, ())
    code, stderr = trigger(run, workflow_id, job=None)
    assert code == 2, stderr
    assert f"approval job {HOLD!r} requires no build job" in stderr
    assert pipeline_posts(sim) == []


@pytest.mark.parametrize(
    ("hold", "expected"),
    [("await-farm", "has no job named 'await-farm'"), (SIGN, f"a build job, not an approval job, named {SIGN!r}")],
)
def test_a_hold_absent_or_not_an_approval_job_is_refused(sim: SimServer, run: Run, hold: str, expected: str) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    code, stderr = trigger(run, workflow_id, "--hold", hold)
    assert code == 2, stderr
    assert expected in stderr
    assert stderr.count("\n") == 1
    assert pipeline_posts(sim) == []


# --- the wiring it accepts, and keeps its promise for ---------------------------------------------------


def test_a_hold_requiring_the_trigger_directly_is_accepted_proven_and_swept(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    """The fix the refusal names: B's circle-back proves the record, and a sweep finds the hold."""
    workflow_id, ids = a_workflow(sim, (SIGN, TRIGGER))
    handoff = tmp_path / "handoff.json"
    code, stderr = trigger(run, workflow_id, "--handoff-file", str(handoff))
    assert code == 0, stderr
    [b] = sim.state.pipelines_of(PROJECT_B)
    # A's trigger job stores the handoff and ends; sign-bundle runs; the hold goes on hold.
    sim.state.set_job_status(ids[TRIGGER], "success")
    number = sim.state.get_job(ids[TRIGGER]).job_number
    assert number is not None
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=handoff.read_bytes())
    sim.state.set_job_status(ids[SIGN], "running")
    sim.state.set_job_status(ids[SIGN], "success")
    sim.state.set_job_status(ids[HOLD], "on_hold")
    swept = run("sweep", "--project", PROJECT_A, "--dry-run")
    assert swept.code == 0, swept.output
    assert f"{HOLD} (workflow {workflow_id})" in swept.stdout
    assert "1 hold(s) named by a record" in swept.stderr
    approved = run("approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id)
    assert approved.code == 0, approved.output
    assert sim.state.get_job(ids[HOLD]).status == "success"


def test_a_hold_nothing_requires_is_triggered_with_a_warning(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,), check=False)
    code, stderr = trigger(run, workflow_id)
    assert code == 0, stderr
    assert f"no job requires {HOLD!r}: A is released when B circles back, but nothing reads B's verdict" in stderr
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1


def test_the_trigger_logs_the_deadline_it_used(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    code, stderr = trigger(run, workflow_id, "--deadline", "2h")
    assert code == 0, stderr
    [b] = sim.state.pipelines_of(PROJECT_B)
    record = parse_record(b.parameters["circleback"])
    assert record is not None
    assert f"deadline {record.deadline.strftime('%Y-%m-%dT%H:%M:%SZ')}: now + 2h (--deadline)" in stderr


# --- B's circle-back: a hold that will never go on hold ends the wait at once --------------------------


def _fail_when_polled(sim: SimServer, job_id: str, path: str) -> threading.Thread:
    """Once the circle-back has read A's jobs (it is waiting), A's trigger job fails."""

    def act() -> None:
        for _ in range(2000):
            if any(r.path == path for r in sim.state.request_log):
                sim.state.set_job_status(job_id, "failed")
                return
            time.sleep(0.005)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def test_the_circle_back_stops_at_once_when_as_trigger_fails_while_it_waits(sim: SimServer, run: Run) -> None:
    """A's trigger fails after B's circle-back started waiting on the blocked hold: success with a warning, in
    one more poll rather than after --hold-timeout."""
    upstream = make_upstream(sim, hold_status="blocked")
    triggered = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, env={"CIRCLE_JOB": "trigger"},
    )  # fmt: skip
    assert triggered.code == 0, triggered.output
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.state.clear_request_log()
    thread = _fail_when_polled(sim, upstream.jobs["trigger"], f"/workflow/{upstream.workflow_id}/job")
    result = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id, "--json",
        "--hold-timeout", "60",
    )  # fmt: skip
    thread.join()
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "upstream_stopped"
    assert "will never go on hold (the job it requires, trigger, is failed)" in result.stderr
    assert "nothing approved" in result.stderr
    assert sim.state.effects("approve") == []
    polls = [r for r in sim.state.request_log if r.path == f"/workflow/{upstream.workflow_id}/job"]
    assert 2 <= len(polls) <= 3  # it waited, and stopped at the first look after the failure


def test_the_circle_back_stops_at_once_when_as_workflow_already_ended(sim: SimServer, run: Run) -> None:
    """CircleCI lists the jobs of an ended workflow that never ran as blocked: the workflow's status decides."""
    upstream = make_upstream(sim, hold_status="blocked")
    triggered = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, env={"CIRCLE_JOB": "trigger"},
    )  # fmt: skip
    assert triggered.code == 0, triggered.output
    [b] = sim.state.pipelines_of(PROJECT_B)
    sim.state.mark_workflow_errored(upstream.workflow_id)
    # the sim moves the jobs that never ran to not_run; the hold's status alone already says it stopped
    result = run("approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id, "--json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "upstream_stopped"
    assert sim.state.effects("approve") == []


def test_a_handoff_listed_late_is_looked_for_again(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream = make_upstream(sim)
    handoff = tmp_path / "handoff.json"
    triggered = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, "--handoff-file", str(handoff),
    )  # fmt: skip
    assert triggered.code == 0, triggered.output
    [b] = sim.state.pipelines_of(PROJECT_B)
    number = sim.state.get_job(upstream.jobs["trigger"]).job_number
    assert number is not None
    sim.state.clear_request_log()

    def list_late() -> None:
        for _ in range(2000):
            if any(r.path.endswith(f"/{number}/artifacts") for r in sim.state.request_log):
                sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=handoff.read_bytes())
                return
            time.sleep(0.005)

    thread = threading.Thread(target=list_late, daemon=True)
    thread.start()
    result = run("approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id)
    thread.join()
    assert result.code == 0, result.output
    assert "no handoff listed yet" in result.stderr
    assert sim.state.get_job(upstream.hold_id).status == "success"


# --- bad input: one line, exit 2, nothing sent -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sweep", "--project", PROJECT_A, "--since", "9999999d"), "--since '9999999d' is longer than 90d"),
        (("sweep", "--project", PROJECT_A, "--grace", "99999999999d"), "--grace '99999999999d' is longer than 90d"),
        (
            ("trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id",
             "5034460f-c7c4-4c43-9457-de07e2029e7b", "--deadline", "100000d"),
            "--deadline '100000d' is longer than 90d (CircleCI keeps an approval job on hold for at most 90 days",
        ),
        (
            ("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--wait", "--timeout", "nan"),
            "--timeout nan is not a positive, finite number of seconds",
        ),
        (
            ("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--wait", "--timeout", "inf"),
            "--timeout inf is not a positive, finite number of seconds",
        ),
        (
            ("approve", "--upstream", "", "--hold-timeout", "nan"),
            "--hold-timeout nan is not a positive, finite number of seconds",
        ),
    ],
)  # fmt: skip
def test_bad_durations_and_timeouts_are_one_line_exit_2_and_send_nothing(
    sim: SimServer, run: Run, args: tuple[str, ...], expected: str
) -> None:
    result = run(*args)
    assert result.code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "OverflowError" not in result.stderr
    assert sim.state.request_log == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"v":1}', "lacks the field(s) record, downstream_pipeline_id of a circleback handoff"),
        (
            '{"v":1,"record":null,"downstream_pipeline_id":"5034460f-c7c4-4c43-9457-de07e2029e7b"}',
            "expected a JSON object, got null",
        ),
        (
            '{"v":1,"record":[1],"downstream_pipeline_id":"5034460f-c7c4-4c43-9457-de07e2029e7b"}',
            "expected a JSON object, got array",
        ),
    ],
)
def test_a_handoff_file_that_is_not_one_names_json_types(
    sim: SimServer, run: Run, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "handoff.json"
    path.write_text(content)
    result = run("status", "--handoff-file", str(path))
    assert result.code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "NoneType" not in result.stderr
    assert "list" not in result.stderr
    assert sim.state.request_log == []


def test_a_deadline_past_artifact_retention_warns_and_is_kept(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    code, stderr = trigger(run, workflow_id, "--deadline", "45d")
    assert code == 0, stderr
    assert "warning: --deadline 45d outlives CircleCI's artifact retention (30d by default" in stderr
    assert len(sim.state.pipelines_of(PROJECT_B)) == 1


# --- the sweeper: approved holds of stopped A workflows are news only while their B still runs --------------------


def _approved_and_failed(sim: SimServer, run: Run, tmp_path: Path) -> tuple[str, str]:
    """A's hold approved, then A's check failed (A's workflow is failed); B's handoff stored."""
    upstream = make_upstream(sim, hold_status="blocked")  # B is triggered while A's trigger job runs
    handoff = tmp_path / "handoff.json"
    triggered = run(
        "trigger", "--project", PROJECT_B, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, "--handoff-file", str(handoff),
    )  # fmt: skip
    assert triggered.code == 0, triggered.output
    sim.state.set_job_status(upstream.jobs["trigger"], "success")
    sim.state.set_job_status(upstream.hold_id, "on_hold")
    number = sim.state.get_job(upstream.jobs["trigger"]).job_number
    assert number is not None
    sim.state.add_artifact(PROJECT_A, number, HANDOFF_ARTIFACT, content=handoff.read_bytes())
    sim.state.approve_job(upstream.workflow_id, upstream.hold_id)
    sim.state.set_job_status(upstream.jobs["check"], "running")
    sim.state.set_job_status(upstream.jobs["check"], "failed")
    [b] = sim.state.pipelines_of(PROJECT_B)
    workflow = sim.state.add_workflow(b.id, "tests")
    job = sim.state.add_job(workflow.id, "unit-tests", status="running")
    return upstream.workflow_id, job.id


def test_an_orphan_sweep_leaves_approved_holds_of_finished_bs_out(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, b_job = _approved_and_failed(sim, run, tmp_path)
    sim.state.set_job_status(b_job, "success")
    result = run("sweep", "--project", PROJECT_A, "--cancel-orphans", "--cancel-project", PROJECT_B, "--grace", "0s")
    assert result.code == 0, result.output
    assert result.stdout == ""
    assert "0 hold(s) named by a record" in result.stderr


def test_an_orphan_sweep_still_cancels_a_b_running_for_a_failed_a(sim: SimServer, run: Run, tmp_path: Path) -> None:
    workflow_id, _ = _approved_and_failed(sim, run, tmp_path)
    result = run("sweep", "--project", PROJECT_A, "--cancel-orphans", "--cancel-project", PROJECT_B, "--dry-run")
    assert result.code == 0, result.output
    assert f"(workflow {workflow_id})" in result.stdout
    assert "A's workflow is failed; B still runs (tests) -> would cancel B" in result.stdout


# --- chains: C's deadline nests inside B's ------------------------------------------------------------------------


def _b_record(deadline: datetime) -> str:
    return Record(PROJECT_A, OTHER_ID, 3, OTHER_ID, "wait", deadline.replace(microsecond=0), PROJECT_B).encode()


def test_a_chained_trigger_caps_the_deadline_at_the_upstreams_less_the_margin(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    upstream = now() + timedelta(hours=2)
    code, stderr = trigger(run, workflow_id, "--upstream", _b_record(upstream), "--chain-margin", "15m")
    assert code == 0, stderr
    [c] = sim.state.pipelines_of(PROJECT_B)
    record = parse_record(c.parameters["circleback"])
    assert record is not None
    assert record.deadline == upstream.replace(microsecond=0) - timedelta(minutes=15)
    assert "less 15m for this pipeline's check and circle-back, earlier than now + 6h" in stderr


def test_a_chained_trigger_keeps_its_own_deadline_when_it_is_earlier(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    code, stderr = trigger(run, workflow_id, "--upstream", _b_record(now() + timedelta(days=1)), "--deadline", "1h")
    assert code == 0, stderr
    [c] = sim.state.pipelines_of(PROJECT_B)
    record = parse_record(c.parameters["circleback"])
    assert record is not None
    assert timedelta(minutes=59) < record.deadline - now() <= timedelta(hours=1)
    assert "now + 1h (--deadline), before the upstream's deadline" in stderr


def test_a_chained_trigger_whose_upstream_deadline_has_passed_triggers_nothing(sim: SimServer, run: Run) -> None:
    workflow_id, _ = a_workflow(sim, (TRIGGER,))
    code, stderr = trigger(run, workflow_id, "--upstream", _b_record(now() + timedelta(minutes=5)))
    assert code == 4, stderr
    assert "less the margin 10m for this pipeline's own check and circle-back has passed; nothing triggered" in stderr
    assert pipeline_posts(sim) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--upstream", "{"), "--upstream is not a circleback record: not JSON"),
        (("--chain-margin", "soon"), "--chain-margin 'soon' is not a duration"),
    ],
)
def test_bad_chain_options_send_nothing(sim: SimServer, run: Run, args: tuple[str, ...], expected: str) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--upstream-workflow-id", OTHER_ID, *args)
    assert result.code == 2, result.output
    assert expected in result.stderr
    assert sim.state.request_log == []


def test_upstream_without_a_workflow_is_refused(sim: SimServer, run: Run) -> None:
    result = run("trigger", "--project", PROJECT_B, "--branch", "main", "--upstream", _b_record(now()))
    assert result.code == 2, result.output
    assert "--upstream needs --upstream-workflow-id" in result.stderr
    assert sim.state.request_log == []


def test_the_legacy_circle_back_also_stops_when_as_trigger_failed(sim: SimServer, run: Run) -> None:
    upstream = make_upstream(sim, hold_status="blocked")
    sim.state.set_job_status(upstream.jobs["trigger"], "failed")
    result = run(
        "approve", "--job-name", "wait-for-triggered-pipeline", "--workflow-id", upstream.workflow_id,
        "--allow-project", PROJECT_A, "--hold-timeout", "60", "--json",
    )  # fmt: skip
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "upstream_stopped"
    assert "will never go on hold (the job it requires, trigger, is failed)" in result.stderr
    assert sim.state.effects("approve") == []


PROJECT_C = "gh/acme/project-c"


def _trigger_below(sim: SimServer, run: Run, tmp_path: Path, upstream: Any, project: str, *extra: str) -> str:
    """Trigger ``project`` from ``upstream``'s running trigger job, store the handoff, put the hold on hold."""
    handoff = tmp_path / f"{project.rsplit('/', 1)[-1]}.json"
    triggered = run(
        "trigger", "--project", project, "--branch", "main", "--no-verify-start",
        "--upstream-workflow-id", upstream.workflow_id, "--handoff-file", str(handoff), *extra,
    )  # fmt: skip
    assert triggered.code == 0, triggered.output
    trigger = sim.state.get_job(upstream.jobs["trigger"])
    sim.state.set_job_status(trigger.id, "success")
    sim.state.set_job_status(upstream.hold_id, "on_hold")
    assert trigger.job_number is not None
    owner = sim.state.get_pipeline(upstream.pipeline_id).project_slug
    sim.state.add_artifact(owner, trigger.job_number, HANDOFF_ARTIFACT, content=handoff.read_bytes())
    [pipeline] = sim.state.pipelines_of(project)
    return str(pipeline.id)


@pytest.mark.parametrize("c_allowed", [True, False])
def test_a_sweep_cancels_down_the_chain_only_in_cancel_projects(
    sim: SimServer, run: Run, tmp_path: Path, c_allowed: bool
) -> None:
    sim.state.add_project(PROJECT_C)
    a = make_upstream(sim, hold_status="blocked")
    b_id = _trigger_below(sim, run, tmp_path, a, PROJECT_B, "--deadline", "1s")
    b = make_upstream(sim, hold_status="blocked", pipeline_id=b_id)  # B triggers C and holds for it
    c_id = _trigger_below(sim, run, tmp_path, b, PROJECT_C)
    c_workflow = sim.state.add_workflow(c_id, "tests")
    sim.state.add_job(c_workflow.id, "unit-tests", status="running")
    time.sleep(1.2)  # B's deadline passes
    allowed = ["--cancel-project", PROJECT_B] + (["--cancel-project", PROJECT_C] if c_allowed else [])
    result = run("sweep", "--project", PROJECT_A, "--grace", "0s", *allowed)
    assert result.code == 0, result.output
    assert "canceled 1 workflow(s) of B" in result.stdout
    below = f"{PROJECT_C} pipeline {c_id} (level 1 below B)"
    if c_allowed:
        assert f"canceled 1 workflow(s) of {below}" in result.stdout
        assert sim.state.get_workflow(c_workflow.id).status == "canceled"
    else:
        assert f"left {below} running: its project is not in --cancel-project" in result.stdout
        assert sim.state.get_workflow(c_workflow.id).status == "running"
    assert sim.state.get_job(a.hold_id).status == "success"
