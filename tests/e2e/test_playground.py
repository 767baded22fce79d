"""``cb-helper sim serve`` as a playground, driven by hand: every command is a separate process, as from another
terminal. A project without a config runs the default pipeline; with a config, its pipelines run that config,
so A's config triggers B's and B circles back."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.circleback import UPSTREAM_CONFIG
from tools.orbkit.bundle import build_orb

HELPER = [sys.executable, "-m", "cb_helper"]


B_CONFIG = """
version: 2.1
orbs:
  circleback: circleback/circleback@0.1
parameters:
  circleback: {type: string, default: ""}
jobs:
  unit-tests:
    docker: [{image: cimg/base:current}]
    steps:
      - run: echo "B's tests pass"
workflows:
  tests:
    jobs:
      - unit-tests
      - circleback/circle_back:
          context: circleci-api
          upstream: << pipeline.parameters.circleback >>
          allowed_projects: gh/acme/project-a
          requires: [{unit-tests: terminal}]
"""


class Served:
    def __init__(self, process: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.process = process
        self.env = env

    def helper(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*HELPER, *args], capture_output=True, text=True, env=self.env, timeout=120, check=False)


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))


def serve(*args: str) -> Iterator[Served]:
    process = subprocess.Popen(
        [*HELPER, "sim", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    printed: dict[str, str] = {}
    try:
        while "CIRCLE_TOKEN" not in printed:
            key, sep, value = lines.get(timeout=60).partition("=")
            if sep:
                printed[key] = value
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLE")}
        yield Served(process, {**env, **printed})
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def default_project() -> Iterator[Served]:
    yield from serve("--project", "gh/acme/project-b")


@pytest.fixture
def circleback(tmp_path: Path) -> Iterator[Served]:
    orb = tmp_path / "orb.yml"
    orb.write_text(build_orb(), encoding="utf-8")
    for name, config in (("a", UPSTREAM_CONFIG), ("b", B_CONFIG)):
        (tmp_path / name / ".circleci").mkdir(parents=True)
        (tmp_path / name / ".circleci" / "config.yml").write_text(config, encoding="utf-8")
    yield from serve(
        "--orb",
        f"circleback={orb}",
        "--context",
        "circleci-api",
        "--project",
        f"gh/acme/project-a={tmp_path / 'a'}",
        "--project",
        f"gh/acme/project-b={tmp_path / 'b'}",
    )


def test_a_project_without_config_runs_the_default_pipeline(default_project: Served) -> None:
    triggered = default_project.helper("trigger", "--project", "gh/acme/project-b", "--branch", "main")
    assert triggered.returncode == 0, triggered.stderr
    pipeline_id = triggered.stdout.strip()
    approved = default_project.helper("approve", "--job-name", "hold", "--pipeline-id", pipeline_id)
    assert approved.returncode == 0, approved.stderr
    status = default_project.helper("status", "--pipeline-id", pipeline_id, "--wait", "--timeout", "60")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "workflow default: success" in status.stdout
    workflow_id = default_project.helper("workflows", "--pipeline-id", pipeline_id, "--jq", ".[0].id").stdout.strip()
    names = default_project.helper("jobs", "--workflow-id", workflow_id, "--jq", ".[].name").stdout.split()
    assert names == ["build", "hold", "deploy"]


def test_a_config_triggers_the_other_and_it_circles_back(circleback: Served) -> None:
    triggered = circleback.helper("trigger", "--project", "gh/acme/project-a", "--branch", "main")
    assert triggered.returncode == 0, triggered.stderr
    status = circleback.helper("status", "--pipeline-id", triggered.stdout.strip(), "--wait", "--timeout", "120")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "workflow build-and-integrate: success" in status.stdout
    circleback.process.terminate()
    assert circleback.process.wait(timeout=30) == 0
