"""Run one compiled job's steps on the host: bash processes, gating by ``when``, cancellation, output."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from cb_helper.rehearse import files
from cb_helper.rehearse.plan import (
    ArtifactsStep,
    AttachStep,
    CacheStep,
    CheckoutStep,
    CompiledJob,
    PersistStep,
    RunStep,
    Step,
    TestResultsStep,
)

_OUTPUT_LIMIT = 256 * 1024
_MASK = "********"
_KILL_GRACE = 2.0


@dataclass
class StepResult:
    """What one step did: ``status`` is success, failed, skipped or canceled."""

    index: int
    name: str
    kind: str
    status: str
    exit_code: Optional[int] = None
    output: str = ""
    seconds: float = 0.0


@dataclass
class JobSetup:
    """Everything one job needs from the engine, besides its compiled steps."""

    job_name: str
    home: Path
    environment: dict[str, str]
    project_dir: Optional[Path]
    workspace: files.Workspace
    workspace_layers: Callable[[], list[str]]
    artifact: Callable[[str, Path], None]
    test_case: Callable[[files.TestCase], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    secrets: Sequence[str] = ()
    on_step: Callable[[StepResult], None] = lambda result: None


@dataclass
class JobOutcome:
    status: str
    steps: list[StepResult]


def default_shell() -> str:
    """CircleCI's default: bash with ``-eo pipefail`` where bash exists, else sh."""
    return "/bin/bash -eo pipefail" if shutil.which("bash") else "/bin/sh -eo pipefail"


def mask(text: str, secrets: Sequence[str]) -> str:
    """Hide secret values in output, as CircleCI masks project and context variables."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, _MASK)
    return text


def run_job(job: CompiledJob, setup: JobSetup) -> JobOutcome:
    """Run every step in order; a failure skips later ``on_success`` steps and runs ``on_fail`` ones."""
    setup.home.mkdir(parents=True, exist_ok=True)
    bash_env = setup.environment.get("BASH_ENV")
    if bash_env:
        Path(bash_env).touch()
    workdir = files.resolve(job.working_directory, home=setup.home, cwd=setup.home)
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[StepResult] = []
    failed = False
    background: list[_Process] = []
    try:
        for index, step in enumerate(job.steps, start=1):
            if setup.cancel.is_set():
                break
            wanted = step.when == "always" or (step.when == "on_fail") == failed
            name, kind = _describe(step)
            if not wanted:
                result = StepResult(index, name, kind, "skipped")
            else:
                started = time.monotonic()
                result = _run_step(index, step, job, setup, workdir, background)
                result.seconds = time.monotonic() - started
                result.output = mask(result.output, setup.secrets)
                failed = failed or result.status == "failed"
            results.append(result)
            setup.on_step(result)
    finally:
        for process in background:
            process.stop()
    if setup.cancel.is_set():
        return JobOutcome("canceled", results)
    return JobOutcome("failed" if failed else "success", results)


def _describe(step: Step) -> tuple[str, str]:
    kind = {
        RunStep: "run",
        CheckoutStep: "checkout",
        PersistStep: "persist_to_workspace",
        AttachStep: "attach_workspace",
        ArtifactsStep: "store_artifacts",
        TestResultsStep: "store_test_results",
    }.get(type(step), "cache")
    if isinstance(step, CacheStep):
        return step.name or ("Saving cache" if step.action == "save" else "Restoring cache"), f"{step.action}_cache"
    return step.name, kind


def _run_step(
    index: int, step: Step, job: CompiledJob, setup: JobSetup, workdir: Path, background: list[_Process]
) -> StepResult:
    name, kind = _describe(step)
    if isinstance(step, RunStep):
        return _run_command(index, step, job, setup, workdir, background)
    try:
        output = _file_step(step, setup, workdir)
    except (OSError, ValueError) as exc:
        return StepResult(index, name, kind, "failed", None, f"{exc}\n")
    return StepResult(index, name, kind, "success", None, output)


def _file_step(step: Step, setup: JobSetup, workdir: Path) -> str:
    where = {"home": setup.home, "cwd": workdir}
    if isinstance(step, CheckoutStep):
        if setup.project_dir is None:
            raise FileNotFoundError("this project has no directory to check out")
        target = files.resolve(step.path, **where) if step.path else workdir
        count = files.checkout(setup.project_dir, target)
        return f"Copied {count} file(s) from {setup.project_dir} (a local copy, not a git clone)\n"
    if isinstance(step, PersistStep):
        copied = setup.workspace.persist(setup.job_name, files.resolve(step.root, **where), step.paths)
        return "".join(f"Persisted {path}\n" for path in copied)
    if isinstance(step, AttachStep):
        attached = setup.workspace.attach(setup.workspace_layers(), files.resolve(step.at, **where))
        return f"Attached the workspace layers of {', '.join(attached) or 'no upstream job'}\n"
    if isinstance(step, ArtifactsStep):
        source = files.resolve(step.path, **where)
        destination = step.destination if step.destination is not None else step.path.lstrip("~/")
        stored = files.artifact_files(source, destination)
        for path, file in stored:
            setup.artifact(path, file)
        return "".join(f"Uploaded {path}\n" for path, _ in stored) or f"No artifact files found at {step.path}\n"
    if isinstance(step, TestResultsStep):
        cases = files.junit_cases(files.resolve(step.path, **where))
        for case in cases:
            setup.test_case(case)
        return f"Stored {len(cases)} test result(s)\n"
    if isinstance(step, CacheStep):
        if step.action == "restore":
            return f"No cache is found for key(s): {', '.join(step.keys)} (a rehearsal keeps no caches)\n"
        return f"Skipping cache save for key {step.keys[0]} (a rehearsal keeps no caches)\n"
    raise ValueError(f"unknown step {step!r}")  # pragma: no cover - every step kind is handled above


def _run_command(
    index: int, step: RunStep, job: CompiledJob, setup: JobSetup, workdir: Path, background: list[_Process]
) -> StepResult:
    cwd = files.resolve(step.working_directory, home=setup.home, cwd=workdir) if step.working_directory else workdir
    cwd.mkdir(parents=True, exist_ok=True)
    scripts = setup.home / ".rehearse"
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / f"step-{index}.sh"
    with files.WRITE_LOCK:
        script.write_text(step.command if step.command.endswith("\n") else step.command + "\n", encoding="utf-8")
    argv = [*shlex.split(step.shell or job.shell or default_shell()), str(script)]
    env = dict(setup.environment)
    env.update(step.environment)
    try:
        process = _Process(argv, cwd, env)
    except OSError as exc:
        return StepResult(index, step.name, "run", "failed", None, f"cannot start {argv[0]}: {exc.strerror}\n")
    if step.background:
        background.append(process)
        return StepResult(index, step.name, "run", "success", None, "(running in the background)\n")
    code, note = process.wait(setup.cancel, step.no_output_timeout)
    output = process.output() + note
    if setup.cancel.is_set():
        return StepResult(index, step.name, "run", "canceled", code, output)
    if code != 0:
        output += f"\nExited with code exit status {code}\n" if code is not None else ""
        return StepResult(index, step.name, "run", "failed", code, output)
    return StepResult(index, step.name, "run", "success", 0, output)


class _Process:
    """One shell process in its own process group, its merged output read by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self.last_output = time.monotonic()
        with files.WRITE_LOCK:
            self.proc = subprocess.Popen(  # noqa: S603 - the config's own command, run as CircleCI would
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.last_output = time.monotonic()
                self._chunks.append(line)
                self._size += len(line)
                while self._size > _OUTPUT_LIMIT and len(self._chunks) > 1:
                    self._size -= len(self._chunks.pop(0))

    def output(self) -> str:
        self._reader.join(timeout=0.5)
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def wait(self, cancel: threading.Event, no_output_timeout: float) -> tuple[Optional[int], str]:
        """Wait for the exit code; ``None`` when canceled or killed for a silent stretch."""
        while True:
            try:
                return self.proc.wait(timeout=0.05), ""
            except subprocess.TimeoutExpired:
                pass
            if cancel.is_set():
                self.stop()
                return None, "\nCanceled\n"
            with self._lock:
                silent = time.monotonic() - self.last_output
            if silent > no_output_timeout:
                self.stop()
                return None, f"\nToo long with no output (exceeded {no_output_timeout:g}s)\n"

    def stop(self) -> None:
        """Terminate the whole process group, then kill it if it lingers."""
        for sig, grace in ((signal.SIGTERM, _KILL_GRACE), (signal.SIGKILL, 1.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue
