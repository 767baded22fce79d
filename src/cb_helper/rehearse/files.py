"""File-moving steps on the host: checkout copies, workspace layers, artifacts and JUnit test results."""

from __future__ import annotations

import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from cb_helper.rehearse.errors import ConfigError

#: Held while this process writes files and while it starts a process. A child forked while another
#: thread has a file open for writing inherits that descriptor until it execs, and executing that
#: file meanwhile fails with "Text file busy"; never forking during a copy avoids the race.
WRITE_LOCK = threading.Lock()

#: Directories a checkout copy leaves out (local tool state, not source).
CHECKOUT_IGNORE = (".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules")


def resolve(path: str, *, home: Path, cwd: Path) -> Path:
    """A step's path: ``~`` is the job's home, relative paths start at the working directory."""
    if path == "~" or path.startswith("~/"):
        return home / path[2:]
    candidate = Path(path)
    return candidate if candidate.is_absolute() else cwd / candidate


def checkout(source: Path, target: Path) -> int:
    """Copy the project's directory into ``target``; returns how many files were copied."""
    if not source.is_dir():
        raise FileNotFoundError(f"project directory {str(source)!r} does not exist")
    target.mkdir(parents=True, exist_ok=True)
    with WRITE_LOCK:
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*CHECKOUT_IGNORE))
    return sum(1 for p in target.rglob("*") if p.is_file())


class Workspace:
    """One workflow's workspace: a layer per job that persisted, attached in the order jobs finished."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _layer(self, job_name: str) -> Path:
        return self.root / job_name.replace("/", "%2F")

    def persist(self, job_name: str, base: Path, patterns: Iterable[str]) -> list[str]:
        """Copy what ``patterns`` (globs relative to ``base``) match into the job's layer."""
        layer = self._layer(job_name)
        copied: list[str] = []
        for pattern in patterns:
            relative = pattern
            if Path(pattern).is_absolute():
                try:
                    relative = str(Path(pattern).relative_to(base))
                except ValueError:
                    raise ConfigError(
                        f"persist_to_workspace path {pattern!r} is not under root {str(base)!r}"
                    ) from None
            matches = sorted(base.glob(relative)) if relative not in ("", ".") else []
            if not matches:
                raise FileNotFoundError(f"persist_to_workspace: {pattern!r} matched no files under {str(base)!r}")
            for match in matches:
                destination = layer / match.relative_to(base)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with WRITE_LOCK:
                    if match.is_dir():
                        shutil.copytree(match, destination, dirs_exist_ok=True)
                    else:
                        shutil.copy2(match, destination)
                copied.append(str(match.relative_to(base)))
        return copied

    def attach(self, job_names: Iterable[str], at: Path) -> list[str]:
        """Copy the layers of ``job_names`` (oldest first; later layers win) into ``at``."""
        at.mkdir(parents=True, exist_ok=True)
        attached: list[str] = []
        for name in job_names:
            layer = self._layer(name)
            if layer.is_dir():
                with WRITE_LOCK:
                    shutil.copytree(layer, at, dirs_exist_ok=True)
                attached.append(name)
        return attached


def artifact_files(source: Path, destination: str) -> list[tuple[str, Path]]:
    """``(artifact path, file)`` pairs for a file or a directory stored under ``destination``."""
    prefix = destination.strip("/")
    if source.is_file():
        return [(prefix or source.name, source)]
    if not source.is_dir():
        return []
    return [
        (f"{prefix}/{file.relative_to(source).as_posix()}" if prefix else file.relative_to(source).as_posix(), file)
        for file in sorted(source.rglob("*"))
        if file.is_file()
    ]


@dataclass(frozen=True)
class TestCase:
    name: str
    classname: str
    result: str
    file: str = ""
    message: Optional[str] = None
    run_time: float = 0.0

    __test__ = False  # not a pytest test class


def junit_cases(source: Path) -> list[TestCase]:
    """Test cases from JUnit XML files (one file, or every ``*.xml`` under a directory)."""
    files = [source] if source.is_file() else sorted(source.rglob("*.xml")) if source.is_dir() else []
    cases: list[TestCase] = []
    for file in files:
        try:
            tree = ET.parse(file)  # noqa: S314 - a report the job wrote on this machine
        except ET.ParseError:
            continue
        for case in tree.iter("testcase"):
            result, message = "success", None
            for outcome in ("failure", "error", "skipped"):
                found = case.find(outcome)
                if found is not None:
                    result = "skipped" if outcome == "skipped" else "failure"
                    message = found.get("message") or (found.text or "").strip() or None
                    break
            try:
                run_time = float(case.get("time", "0") or 0)
            except ValueError:
                run_time = 0.0
            cases.append(
                TestCase(
                    name=case.get("name", ""),
                    classname=case.get("classname", ""),
                    result=result,
                    file=case.get("file", ""),
                    message=message,
                    run_time=run_time,
                )
            )
    return cases
