"""Running compiled steps on the host, without the simulator."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from cb_helper.rehearse.execution import JobSetup, mask, run_job
from cb_helper.rehearse.files import TestCase, Workspace
from cb_helper.rehearse.plan import CacheStep, CheckoutStep, CompiledJob, PersistStep, RunStep


def _setup(tmp_path: Path, **kwargs: object) -> JobSetup:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "app.txt").write_text("app\n", encoding="utf-8")
    (project / ".venv").mkdir(exist_ok=True)
    (project / ".venv" / "big").write_text("x", encoding="utf-8")
    artifacts: list[tuple[str, Path]] = []
    cases: list[TestCase] = []
    settings: dict[str, object] = {
        "job_name": "job",
        "home": tmp_path / "home",
        "environment": {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")},
        "project_dir": project,
        "workspace": Workspace(tmp_path / "workspace"),
        "workspace_layers": list,
        "artifact": lambda path, file: artifacts.append((path, file)),
        "test_case": cases.append,
    }
    settings.update(kwargs)
    return JobSetup(**settings)  # type: ignore[arg-type]


def test_checkout_path_shell_and_caches(tmp_path: Path) -> None:
    job = CompiledJob(
        definition="j",
        steps=(
            CheckoutStep(path="code"),
            RunStep(name="ls", command="ls -A code code/src"),
            RunStep(name="python", command="import sys; print('py', sys.version_info[0])", shell=sys.executable),
            CacheStep(action="restore", keys=("deps-{{ checksum 'lock' }}",)),
            CacheStep(action="save", keys=("deps",)),
        ),
    )
    outcome = run_job(job, _setup(tmp_path))
    assert outcome.status == "success"
    listing, python, restore, save = (s.output for s in outcome.steps[1:])
    assert "src" in listing
    assert "app.txt" in listing
    assert ".venv" not in listing
    assert python.strip() == "py 3"
    assert "No cache is found" in restore
    assert "keeps no caches" in save


def test_background_steps_stop_with_the_job(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    job = CompiledJob(
        definition="j",
        steps=(
            RunStep(name="server", command=f"echo $$ > {pid_file}; exec sleep 60", background=True),
            RunStep(name="wait", command=f"while [ ! -s {pid_file} ]; do sleep 0.05; done"),
        ),
    )
    outcome = run_job(job, _setup(tmp_path))
    assert [s.status for s in outcome.steps] == ["success", "success"]
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_persist_that_matches_nothing_fails_the_step(tmp_path: Path) -> None:
    job = CompiledJob(definition="j", steps=(PersistStep(root=".", paths=("missing/*.txt",)),))
    outcome = run_job(job, _setup(tmp_path))
    assert outcome.status == "failed"
    assert "'missing/*.txt' matched no files" in outcome.steps[0].output


def test_cancel_stops_the_step(tmp_path: Path) -> None:
    cancel = threading.Event()
    marker = tmp_path / "started"
    job = CompiledJob(
        definition="j",
        steps=(
            RunStep(name="slow", command=f"touch {marker}; sleep 60"),
            RunStep(name="after", command="true", when="always"),
        ),
    )
    watcher = threading.Thread(target=_cancel_once_started, args=(marker, cancel))
    watcher.start()
    outcome = run_job(job, _setup(tmp_path, cancel=cancel))
    watcher.join()
    assert outcome.status == "canceled"
    assert [s.status for s in outcome.steps] == ["canceled"]  # nothing runs after a cancel


def _cancel_once_started(path: Path, cancel: threading.Event) -> None:
    pause = threading.Event()
    while not path.exists():
        pause.wait(0.02)
    cancel.set()


def test_mask_hides_only_long_enough_secrets() -> None:
    assert mask("token abcd and abc", ["abcd", "abc"]) == "token ******** and abc"
