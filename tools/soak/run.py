"""One soak run: write a scenario's projects, rehearse them under faults, sweep what stays on hold, check.

Every ``cb-helper`` a job (or the sweep) runs goes through a small shim first on ``PATH`` that appends its
exit status and argv to ``calls.log``, so the checks see each command's exit status and every argument.
The rehearsal's token is a sentinel the checks look for everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from cb_helper.api.tuning import READ_TIMEOUT_ENV
from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.jobenv import helper_path
from cb_helper.rehearse.timeline import RehearsalResult
from cb_helper.sim import SimServer, SimState
from cb_helper.sim.chaos import shape
from tools.soak.invariants import Evidence, check
from tools.soak.projects import Scenario, write

#: The token every soak run uses; the checks fail the run wherever it shows up.
SENTINEL = "cbsoak-sentinel-7c1e0d5b9a"
SEPARATOR = "\x1f"
SHIM = """#!/usr/bin/env bash
"{real}" "$@"
rc=$?
(IFS=$'\\x1f'; printf '%s\\t%s\\n' "$rc" "$*") >> "{log}"
exit "$rc"
"""
MAX_SWEEPS = 5


@dataclass(frozen=True)
class Settings:
    """How hard a run is pushed: ``rate`` of faulted requests, a per-token limit, the client's read timeout."""

    rate: float = 0.0
    rate_limit: Optional[tuple[int, float]] = None  # (requests, window seconds) per token
    read_timeout: float = 1.0
    settle_timeout: float = 300.0
    max_parallel: int = 4
    page_size: int = 2  # small pages, so lists are paged and page tokens can go stale


@dataclass
class RunReport:
    scenario: str
    seed: int
    settings: Settings
    violations: list[str]
    verdict_seconds: list[float]
    injected: dict[str, int]
    sweeps: int
    requests: int
    elapsed: float
    refused: list[str] = field(default_factory=list)
    #: Every fault injected: (method, path shape, label), for tests that replay a seed.
    faults: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def real_helper() -> str:
    candidate = Path(sysconfig.get_path("scripts")) / "cb-helper"
    return str(candidate if candidate.exists() else Path(sys.executable).parent / "cb-helper")


def run(orb: Path, scenario: Scenario, seed: int, settings: Settings, workdir: Path) -> RunReport:
    root = workdir / f"{scenario.name}-{seed}-{settings.rate:g}"
    root.mkdir(parents=True, exist_ok=True)
    paths = write(scenario, root)
    shim_dir, calls = root / "bin", root / "calls.log"
    shim_dir.mkdir(exist_ok=True)
    shim = shim_dir / "cb-helper"
    shim.write_text(SHIM.format(real=real_helper(), log=calls), encoding="utf-8")
    shim.chmod(0o755)
    calls.write_text("", encoding="utf-8")
    client_env = {READ_TIMEOUT_ENV: f"{settings.read_timeout:g}"}
    started = time.monotonic()
    with SimServer(SimState(page_size=settings.page_size)) as server:
        server.token = SENTINEL
        server.state.add_token(SENTINEL)
        if settings.rate:
            server.faults.set_rate(settings.rate, seed, slow=settings.read_timeout + 1.0)
        if settings.rate_limit:
            server.faults.set_rate_limit(*settings.rate_limit)
        with Rehearsal(
            paths,
            orbs={"circleback": orb},
            contexts={"circleci-api": client_env},
            project_env={"PATH": os.pathsep.join([str(shim_dir), helper_path()])},
            server=server,
            max_parallel=settings.max_parallel,
        ) as rehearsal:
            for upstream in scenario.upstreams:
                rehearsal.start(upstream.slug)
            result = rehearsal.run_until_settled(settings.settle_timeout)
            sweeps: list[subprocess.CompletedProcess[str]] = []
            while result.outcome == "stuck" and len(sweeps) < MAX_SWEEPS:
                # What the scheduled sweeper does: release holds whose B will not circle back.
                sweeps.append(_sweep(server, shim, [u.slug for u in scenario.upstreams], client_env))
                result = rehearsal.run_until_settled(settings.settle_timeout)
            evidence = Evidence(
                scenario=scenario,
                state=server.state,
                result=result,
                calls=_calls(calls),
                sweeps=sweeps,
                internal_errors=list(server.internal_errors),
                sentinel=SENTINEL,
            )
            violations, verdicts = check(evidence)
            injected = server.faults.injected()
            faults = [(m, shape(m, path).partition(" ")[2], label) for m, path, label in server.faults.injections()]
            requests = len(server.state.request_log)
    return RunReport(
        scenario.name,
        seed,
        settings,
        violations,
        verdicts,
        injected,
        len(sweeps),
        requests,
        time.monotonic() - started,
        refused=evidence.refused,
        faults=faults,
        notes=[_describe(result)] if violations else [],
    )


def _sweep(
    server: SimServer, shim: Path, projects: Sequence[str], client_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **client_env, "CIRCLECI_HOST": server.url, "CIRCLE_TOKEN": SENTINEL}
    argv = [str(shim), "sweep", "--grace", "0s"]
    for project in projects:
        argv += ["--project", project]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)


def _calls(log: Path) -> list[tuple[int, list[str]]]:
    found = []
    for line in log.read_text(encoding="utf-8").splitlines():
        status, _, argv = line.partition("\t")
        found.append((int(status), argv.split(SEPARATOR)))
    return found


def _describe(result: RehearsalResult) -> str:
    lines = [f"outcome {result.outcome} {result.waiting}"]
    for pipeline in result.pipelines:
        lines.append(f"{pipeline.project} #{pipeline.number} {pipeline.state} {pipeline.errors}")
        for workflow in pipeline.workflows:
            for job in workflow.jobs:
                lines.append(f"  {workflow.name}/{job.name}: {job.status}")
                if job.status not in ("success", "on_hold", "blocked"):
                    lines.extend(f"    {line}" for line in job.output().splitlines()[-12:])
    return "\n".join(lines)
