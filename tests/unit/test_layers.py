"""The import contracts in pyproject.toml catch what they forbid: each is broken once on a copy of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tmp_path: Path, edits: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a copy of ``src/cb_helper`` with ``edits`` (path -> line appended) applied."""
    shutil.copytree(
        ROOT / "src" / "cb_helper", tmp_path / "src" / "cb_helper", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for relative, line in edits.items():
        path = tmp_path / "src" / "cb_helper" / relative
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def contract_states(output: str) -> dict[str, str]:
    flat = " ".join(output.split())
    starts = {
        "layers": "One way down:",
        "api-alone": "The API layer imports nothing else",
        "sim-below-runner": "The simulator stands on the API layer only",
        "pattern-apart": "The pattern talks to CircleCI through the API layer only",
        "no-circles": "No two modules or packages import each other",
    }
    states = {}
    for key, start in starts.items():
        at = flat.find(start)
        assert at >= 0, f"contract {key!r} is not in the output:\n{output}"
        kept, broke = flat.find(" KEPT", at), flat.find(" BROKEN", at)
        ends = [i for i in (kept, broke) if i >= 0]
        states[key] = "BROKEN" if ends and min(ends) == broke else "KEPT"
    return states


def test_the_package_as_it_stands_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(contract_states(result.stdout).values()) == {"KEPT"}


@pytest.mark.parametrize(
    ("relative", "line", "expected"),
    [
        # the simulator reaching up into the runner, which imports it: a circle too
        ("sim/wire.py", "from cb_helper.rehearse import engine", {"layers", "sim-below-runner", "no-circles"}),
        ("api/retry.py", "from cb_helper.pattern import record", {"layers", "api-alone", "no-circles"}),
        # layers alone would let the pattern import the simulator, which sits below it
        ("pattern/cancel.py", "from cb_helper.sim import model", {"pattern-apart"}),
        ("sim/paging.py", "from cb_helper.pattern import render", {"layers", "sim-below-runner"}),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, relative: str, line: str, expected: set[str]) -> None:
    result = lint_imports(tmp_path, {relative: line})
    assert result.returncode == 1, result.stdout + result.stderr
    states = contract_states(result.stdout)
    assert {key for key, state in states.items() if state == "BROKEN"} == expected, result.stdout


def test_two_modules_importing_each_other_break_the_circle_contract(tmp_path: Path) -> None:
    # polling imports nothing of the package today; make it and retry import each other
    result = lint_imports(
        tmp_path,
        {"api/polling.py": "from cb_helper.api import retry", "api/retry.py": "from cb_helper.api import polling"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert {key for key, state in contract_states(result.stdout).items() if state == "BROKEN"} == {"no-circles"}
