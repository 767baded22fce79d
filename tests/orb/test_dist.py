"""The package builds into a wheel and an sdist that twine accepts; the wheel carries the packed orb of its
version, and the orb tooling itself stays out of it."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cb_helper import __version__
from tools.orbkit.bundle import REPO_ROOT, build_orb


@pytest.mark.slow
def test_build_and_twine_check(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = tmp_path / f"cb_helper-{__version__}-py3-none-any.whl"
    sdist = tmp_path / f"cb_helper-{__version__}.tar.gz"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        packed = archive.read("cb_helper/orb/circleback.yml").decode("utf-8")
    assert "cb_helper/cli.py" in names
    assert not any(name.startswith(("tools/", "orb/")) for name in names)
    assert packed == build_orb()  # built from the sdist, byte for byte what the tooling packs from this tree
    with tarfile.open(sdist) as archive:
        assert any(name.endswith("src/cb_helper/__init__.py") for name in archive.getnames())
    twine = subprocess.run(
        [str(Path(sys.executable).parent / "twine"), "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
