"""shellcheck (as POSIX sh) on the orb's scripts and the generated bundle, yamllint on the orb source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def shellcheck(scripts: list[Path], extra_text: str = "") -> list[str]:
    """shellcheck the scripts, and ``extra_text`` (a generated script) when given."""
    problems: list[str] = []
    tool = str(BIN / "shellcheck")
    if scripts:
        result = subprocess.run([tool, "--shell=sh", *map(str, scripts)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            problems.extend(line for line in result.stdout.splitlines() if line.strip())
    if extra_text:
        result = subprocess.run(
            [tool, "--shell=sh", "-"], input=extra_text, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            problems.extend(line for line in result.stdout.splitlines() if line.strip())
    return problems


def yamllint(target: Path, config: Path) -> list[str]:
    """yamllint ``target`` with the project's configuration file."""
    command = [sys.executable, "-m", "yamllint", "-f", "parsable", "-c", str(config), str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines or [f"yamllint exited {result.returncode}"]
