"""``make demo``: rehearse the circleback with the orb's own examples, on this machine.

Three scenarios, each a project A and a project B from the orb's examples: B's tests pass and B
circles back with an image digest that A's deploy job uses; two of B's tests fail and A's check
lists them (and stores them as its own test results); B's workflow is canceled before it can circle
back, so A would hold until a sweep releases it. Prints a timeline of each and exits 0 only when all
behaved as they should: A passes and deploys B's digest with a passing B, fails naming B's failed
job and failing tests with a failing B, fails saying B was canceled once the sweep released it, and
its hold is never billed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import click

from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.examples import (
    CIRCLEBACK_PARAMETER,
    declare,
    example_config,
    load_orb,
    localize,
    write_config,
)
from cb_helper.rehearse.report import terminal_width, timeline_lines
from cb_helper.rehearse.timeline import Event, RehearsalResult
from cb_helper.sim import SimServer, SimState

REPO_ROOT = Path(__file__).resolve().parents[1]
A = "gh/acme/project-a"
B = "gh/acme/project-b"
HOLD = "wait-for-triggered-pipeline"
CHECK = "check-project-b"
GATE = "approve-deploy"  # a person's approval before A deploys
DIGEST = "sha256:9b2c41f0e7d86a35c1f4b0a2d7e9c8b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0"
#: B's tests write a JUnit report; with a failing outcome, two of the unit tests fail.
RUN_TESTS = """#!/usr/bin/env bash
suite="${1:-all}"
echo "running $suite tests"
outcome="$(cat "$(dirname "$0")/outcome")"
if [ "$outcome" = hang ]; then sleep 60; fi
failures=""
if [ "$outcome" != 0 ] && [ "$suite" != integration ]; then
  failures='<testcase name="test_total_includes_tax" classname="cart" file="tests/test_cart.py">
<failure message="AssertionError: expected 10.80, got 10.00">assert total == 10.80</failure></testcase>
<testcase name="test_discount_rounding" classname="cart" file="tests/test_cart.py">
<failure message="AssertionError: 3.33 != 3.34">assert discount == 3.34</failure></testcase>'
fi
mkdir -p test-results
cat > "test-results/$suite.xml" <<XML
<testsuite name="$suite">
<testcase name="test_smoke" classname="$suite" file="tests/test_smoke.py"/>$failures</testsuite>
XML
if [ -n "$failures" ]; then exit "$outcome"; fi
"""
BUILD_IMAGE = f"""#!/usr/bin/env bash
echo "{DIGEST}"
"""


@dataclass(frozen=True)
class Scenario:
    title: str
    example: str
    exit_code: str  # what B's tests exit with ("hang": they run until canceled)
    expected: str  # A's expected workflow status
    cancel_b: bool = False  # cancel B's whole workflow as its tests start; a sweep then releases A
    upstream: str = "trigger_and_wait_for_downstream"  # A's example


SCENARIOS = (
    Scenario(
        "B's tests pass; B circles back with an image digest, and A's deploy job uses it",
        "circle_back_with_outputs",
        "0",
        "success",
        upstream="deploy_with_downstream_outputs",
    ),
    Scenario(
        "Two of B's tests fail; A's check lists them and stores them as its own test results",
        "circle_back_with_outputs",
        "1",
        "failed",
        upstream="deploy_with_downstream_outputs",
    ),
    Scenario(
        "B's workflow is canceled before it circles back; the sweep releases A",
        "circle_back_with_final_job",
        "hang",
        "failed",
        cancel_b=True,
    ),
)


def _projects(orb: dict[str, Any], scenario: Scenario, root: Path) -> dict[str, Path]:
    upstream = localize(example_config(orb, scenario.upstream), root)
    downstream = declare(example_config(orb, scenario.example), CIRCLEBACK_PARAMETER)
    b_dir = root / "project-b"
    b_config = write_config(downstream, b_dir)
    for name, script in (("run-tests.sh", RUN_TESTS), ("build-image.sh", BUILD_IMAGE)):
        (b_dir / name).write_text(script, encoding="utf-8")
        (b_dir / name).chmod(0o755)
    (b_dir / "outcome").write_text(scenario.exit_code, encoding="utf-8")
    return {A: write_config(upstream, root / "project-a"), B: b_config}


def _verdict(result: RehearsalResult, scenario: Scenario) -> tuple[list[str], list[str]]:
    """Lines telling what A concluded, and the expectations that were not met."""
    problems: list[str] = []
    if result.outcome != "settled":
        problems.append(f"the rehearsal did not settle ({result.outcome}: {'; '.join(result.waiting)})")
        return [], problems
    a, b = result.pipeline(A), result.pipeline(B)
    check = a.job(CHECK)
    verdict = next((s for s in check.steps if s.name == "Check the downstream pipeline"), None)
    lines = [f"A's verdict: {CHECK} {check.status}" + (f" (exit {verdict.exit_code})" if verdict else "")]
    if verdict is not None:
        said = verdict.output.splitlines()  # in the check's own order and indentation
        lines.extend(f"  {line.rstrip()}" for line in said if _from_b(line) or line.startswith("released:"))
    stored = check.failed_tests
    if stored:
        lines.append(f"A's check stored {len(stored)} failing test(s) of B: {', '.join(t.name for t in stored)}")
    lines.extend(_deployed(result))
    held = a.hold_seconds(result.elapsed)
    billable = result.billable_while_waiting(A)
    lines.append(f"A held {held:.2f}s on {HOLD}; billable while waiting: {billable:.2f}s")
    if a.workflow().status != scenario.expected:
        problems.append(f"A's workflow is {a.workflow().status}, expected {scenario.expected}")
    if a.job(HOLD).status != "success":
        problems.append(f"A's hold is {a.job(HOLD).status}: B did not circle back and nothing released it")
    if scenario.cancel_b and (verdict is None or verdict.exit_code != 5 or "was canceled" not in verdict.output):
        problems.append("A's check did not fail with exit status 5 saying B was canceled")
    b_failed = [job.name for job in b.workflow().jobs if job.status == "failed"]
    if scenario.expected == "failed" and not scenario.cancel_b:
        if not b_failed or verdict is None or verdict.exit_code != 1:
            problems.append("A's check did not fail with exit status 1")
        elif not all(f"failed job: {name}" in verdict.output for name in b_failed):
            problems.append("A's check did not name B's failed jobs")
    if billable > 0:
        problems.append(f"A was billed {billable:.2f}s while waiting")
    if scenario.upstream == "deploy_with_downstream_outputs":
        problems.extend(_outputs_problems(result, scenario, verdict.output if verdict else ""))
    return lines, problems


def _from_b(line: str) -> bool:
    """A line of A's check that tells what B found: its workflows, failed jobs, failing tests, outputs."""
    text = line.strip()
    return (
        "failed job:" in text
        or line.startswith(("pipeline ", "  workflow "))
        or text.startswith(("project-b:", "unit-tests:", "integration-tests:", "exported to later steps:"))
        or " sent " in text
    )


def _deployed(result: RehearsalResult) -> list[str]:
    deploy = next((j for j in result.pipeline(A).workflow().jobs if j.name == "deploy"), None)
    if deploy is None:
        return []
    said = [line.strip() for line in deploy.output().splitlines() if line.startswith("deploying image")]
    return [f"A's deploy job: {said[0]}" if said else f"A's deploy job: {deploy.status}"]


def _outputs_problems(result: RehearsalResult, scenario: Scenario, verdict: str) -> list[str]:
    """What B sent back must reach A: the digest in the deploy job, or the failing tests in A's check."""
    a = result.pipeline(A)
    if scenario.expected == "success":
        deploy = a.job("deploy")
        return [] if f"deploying image {DIGEST}" in deploy.output() else ["A's deploy job did not use B's digest"]
    stored = sorted(t.name for t in a.job(CHECK).failed_tests)
    problems = []
    if stored != ["test_discount_rounding", "test_total_includes_tax"]:
        problems.append(f"A's check stored B's failing tests as {stored or 'nothing'}")
    if "test_total_includes_tax" not in verdict or "test_discount_rounding" not in verdict:
        problems.append("A's check did not list B's failing tests")
    return problems


def run_scenario(
    orb: dict[str, Any],
    scenario: Scenario,
    root: Path,
    *,
    color: bool,
    width: Optional[int],
    page: Optional[Path] = None,
) -> bool:
    """Rehearse one scenario and print what happened, in the order it happened; ``page`` keeps A's check page."""
    click.echo(click.style(f"== {scenario.title}", bold=True) if color else f"== {scenario.title}")
    server = SimServer(SimState())
    hook = _cancel_b_when_tests_start(server.state) if scenario.cancel_b else None
    projects = _projects(orb, scenario, root)
    with (
        server,
        Rehearsal(
            projects,
            orbs={"circleback": orb},
            contexts={"circleci-api": {}, "production-deploy": {}},
            server=server,
            on_event=hook,
        ) as run,
    ):
        run.start(A)
        result = run.run_until_settled(120)
        shown = 0

        def so_far() -> int:
            """Print the timeline's events since the last call, so that what follows comes after them."""
            for line in timeline_lines(result, color=color, width=width, events=result.timeline[shown:]):
                click.echo(line, color=color)
            return len(result.timeline)

        if scenario.cancel_b and result.outcome == "stuck":
            shown = so_far()
            click.echo(f"A waits on {HOLD} and B will never circle back: running the sweep")
            for line in _sweep(run.server.url, run.server.token):
                click.echo(f"  {line}")
            result = run.run_until_settled(120)
        if result.outcome == "stuck" and any(w.endswith(f"/{GATE}") for w in result.waiting):
            shown = so_far()
            click.echo(f"A's deploy waits on {GATE}, a person's approval: approving it as a person")
            _approve_as_a_person(server.state)
            result = run.run_until_settled(120)
        kept = _keep_page(run.workdir, result, page) if page is not None else None
    for line in timeline_lines(result, color=color, width=width, events=result.timeline[shown:]):
        click.echo(line, color=color)
    lines, problems = _verdict(result, scenario)
    for line in lines:
        click.echo(line)
    if problems:
        for problem in problems:
            click.echo(click.style(f"NOT AS EXPECTED: {problem}", fg="red") if color else f"NOT AS EXPECTED: {problem}")
    else:
        message = "as expected"
        click.echo(click.style(message, fg="green") if color else message)
    if kept is not None:
        click.echo(f"A's check drew the circleback on one page: {kept}")
    click.echo("")
    return not problems


def _keep_page(workdir: Path, result: RehearsalResult, target: Path) -> Optional[Path]:
    """Copy the page A's check stored (the artifact circleback/report.html) to ``target``; None without one."""
    check = next((job for job in result.pipeline(A).workflow().jobs if job.name == CHECK), None)
    if check is None or check.number is None:
        return None
    stored = workdir / "artifacts" / Path(*A.split("/")) / str(check.number) / "circleback" / "report.html"
    if not stored.is_file():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(stored.read_bytes())
    return target


def _approve_as_a_person(state: SimState) -> None:
    """Approve A's person's gate as someone in the deploy context's security group would, in the web app."""
    person = state.add_token("demo-release-manager", login="release-manager", name="Release Manager")
    for pipeline in state.pipelines_of(A):
        for workflow in state.workflows_of(pipeline.id):
            for job in state.jobs_of(workflow.id):
                if job.name == GATE and job.status == "on_hold":
                    state.approve_job(workflow.id, job.id, approver=person.id)


def _cancel_b_when_tests_start(state: SimState) -> Any:
    def on_event(event: Event) -> None:
        if event.kind == "job_started" and event.project == B and event.job in ("tests", "unit-tests"):
            for pipeline in state.pipelines_of(B):
                for workflow in state.workflows_of(pipeline.id):
                    state.cancel_workflow(workflow.id)

    return on_event


def _sweep(host: str, token: str) -> list[str]:
    """Run `cb-helper sweep` once on project A (grace 0: act now); its output lines."""
    from cb_helper.cli import main as cb_helper

    out = io.StringIO()
    saved = os.environ.get("CIRCLE_TOKEN")
    os.environ["CIRCLE_TOKEN"] = token
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cb_helper(["sweep", "--project", A, "--grace", "0s", "--host", host])
    finally:
        if saved is None:
            del os.environ["CIRCLE_TOKEN"]
        else:
            os.environ["CIRCLE_TOKEN"] = saved
    return [*out.getvalue().splitlines(), f"(sweep exit status {code})"]


def _orb(path: Optional[Path]) -> dict[str, Any]:
    if path is not None:
        return load_orb(path)
    packed = REPO_ROOT / "dist" / "orb.yml"
    if packed.is_file():
        return load_orb(packed)
    from cb_helper.rehearse.yamlio import load_yaml_text
    from tools.orbkit.bundle import ORB_SRC, build_orb  # packs in memory when dist/orb.yml is missing

    data = load_yaml_text(build_orb(ORB_SRC), "orb/src (packed)")
    assert isinstance(data, dict)
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orb", type=Path, help="the packed orb (default dist/orb.yml)")
    parser.add_argument(
        "--pages", type=Path, metavar="DIR", help="keep each scenario's circleback/report.html as DIR/scenario-N.html"
    )
    args = parser.parse_args(argv)
    color = sys.stdout.isatty()
    width = terminal_width()
    orb = _orb(args.orb)
    with tempfile.TemporaryDirectory(prefix="cb-demo-") as tmp:
        outcomes = [
            run_scenario(
                orb,
                scenario,
                Path(tmp) / f"scenario-{index}",
                color=color,
                width=width,
                page=args.pages / f"scenario-{index}.html" if args.pages is not None else None,
            )
            for index, scenario in enumerate(SCENARIOS, start=1)
        ]
    if all(outcomes):
        click.echo("All scenarios behaved as they should.")
        return 0
    click.echo(f"{outcomes.count(False)} scenario(s) did not behave as they should.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
