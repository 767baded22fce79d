"""Run one ``run`` step of the packed orb in a shell, roughly as CircleCI would (an approximation).

Steps in ``when``/``unless`` blocks count only when their condition holds for the arguments. The step's
``command`` gets ``\\<<`` turned back into ``<<``; its ``environment`` values get
``<< parameters.x >>`` replaced by the given arguments or the declared defaults (booleans as 1/0) and
``<< pipeline.id >>`` by a fixed id. That is all the config compiler does for these steps.

CircleCI runs a step with bash when the image has it and with ``/bin/sh`` otherwise, so every step runs
under each of :data:`SHELLS`: bash, dash (Debian's ``/bin/sh``) and busybox ash (Alpine's).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.orbkit.bundle import build_orb
from tools.orbkit.goyaml import load_text

#: The shells a step may run under, and how to run a script file with each.
SHELLS: dict[str, tuple[str, ...]] = {"bash": ("bash",), "dash": ("dash",), "busybox": ("busybox", "sh")}
PIPELINE_ID = "5034460f-c7c4-4c43-9457-de07e2029e7b"
_REFERENCE = re.compile(r"<<\s*(parameters|pipeline)\.([A-Za-z0-9_.-]+)\s*>>")


@functools.lru_cache(maxsize=1)
def packed_orb() -> dict[str, Any]:
    data = load_text(build_orb(), "packed orb")
    assert isinstance(data, dict)
    return data


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def selected_steps(steps: list[Any], values: Mapping[str, Any]) -> list[Any]:
    """The steps a call compiles to: ``when``/``unless`` blocks kept or dropped by their condition's truth."""

    def value(text: Any) -> Any:
        match = _REFERENCE.fullmatch(str(text).strip()) if isinstance(text, str) else None
        return values[match.group(2)] if match and match.group(1) == "parameters" else text

    def truth(condition: Any) -> bool:
        if isinstance(condition, dict):
            [(operator, operand)] = condition.items()
            if operator == "not":
                return not truth(operand)
            results = [truth(item) for item in operand]
            return all(results) if operator == "and" else any(results)
        return bool(value(condition))

    selected: list[Any] = []
    for step in steps:
        if isinstance(step, dict) and len(step) == 1 and next(iter(step)) in ("when", "unless"):
            [(kind, block)] = step.items()
            if truth(block["condition"]) == (kind == "when"):
                selected.extend(selected_steps(block["steps"], values))
        else:
            selected.append(step)
    return selected


def step_environment(command: str, arguments: Mapping[str, Any], step: int = 0) -> tuple[str, dict[str, str]]:
    """The shell text and environment of step ``step`` of ``command`` called with ``arguments``."""
    body = packed_orb()["commands"][command]
    declared = body.get("parameters") or {}
    values = {name: spec.get("default") for name, spec in declared.items()}
    values.update(arguments)
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"required parameters not given: {missing}"
    run = selected_steps(body["steps"], values)[step]["run"]

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) == "pipeline":
            assert match.group(2) == "id", match.group(0)
            return PIPELINE_ID
        return _render(values[match.group(2)])

    env = {key: _REFERENCE.sub(substitute, str(value)) for key, value in (run.get("environment") or {}).items()}
    return run["command"].replace("\\<<", "<<"), env


def run_step(
    command: str,
    arguments: Mapping[str, Any],
    path_dirs: list[Path],
    extra_env: Mapping[str, str],
    step: int = 0,
    shell: str = "bash",
) -> subprocess.CompletedProcess[str]:
    """Run the step with ``path_dirs`` first on PATH and ``extra_env`` on top of the step's environment."""
    script, env = step_environment(command, arguments, step)
    full_env = {
        "PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"]),
        "HOME": str(path_dirs[0]),
        **env,
        **extra_env,
    }
    return run_script(script, full_env, path_dirs[0], shell=shell)


def shell_command(shell: str) -> list[str]:
    """The command line that runs a script file under ``shell`` (one of :data:`SHELLS`), found on this machine."""
    program, *arguments = SHELLS[shell]
    found = shutil.which(program)
    if found is None:
        raise FileNotFoundError(f"{program} is not installed (expected on PATH to run the orb's steps under {shell})")
    return [found, *arguments]


def run_script(
    script: str, env: Mapping[str, str], directory: Path, timeout: float = 120, shell: str = "bash"
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` from a file, as CircleCI does (a step's command can be longer than one argument may be)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "step.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [*shell_command(shell), str(path)], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


FAKE_HELPER = """#!{python}
import json, os, sys
with open(os.environ["FAKE_ARGV_FILE"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def fake_helper(directory: Path, python: str) -> Path:
    """A ``cb-helper`` that records its arguments (one JSON list per call) and exits with $FAKE_EXIT."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "cb-helper"
    path.write_text(FAKE_HELPER.format(python=python), encoding="utf-8")
    path.chmod(0o755)
    return path
