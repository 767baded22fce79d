"""The helper bundled in the orb: exactly the package's sources at its version, and the installer's paths."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cb_helper import __version__
from tests.orb.runstep import packed_orb, run_step, script_file, step_environment
from tools.orbkit.bundle import (
    PACKAGE_DIR,
    REQUIREMENTS,
    BundleError,
    bundled_files,
    helper_version,
    render_bundle,
    render_preamble,
    requirements,
)


def test_version_has_one_source() -> None:
    assert helper_version() == __version__
    script, _ = step_environment("install_helper", {})
    assert f"CB_BUNDLE_VERSION={__version__}\n" in script


def test_bundle_writes_the_package_sources_verbatim(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", script_file(tmp_path.parent, render_preamble() + f'\ncb_bundle_write "{tmp_path}"\n')],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    files = bundled_files()
    assert Path("cb_helper/cli.py") in files
    assert not any(part in ("sim", "rehearse") for f in files for part in f.parts)
    for relative in files:
        assert (tmp_path / relative).read_text() == (PACKAGE_DIR.parent / relative).read_text()
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(files)


def test_bundle_is_readable_source_in_the_packed_orb() -> None:
    command = packed_orb()["commands"]["install_helper"]["steps"][0]["run"]["command"]
    assert command.replace("\\<<", "<<") == render_bundle()
    assert "def main(" in command  # the source itself, not an encoded blob


def test_a_file_holding_the_delimiter_is_refused(tmp_path: Path) -> None:
    package = tmp_path / "cb_helper"
    package.mkdir()
    (package / "__init__.py").write_text('__version__ = "9.9.9"\n')
    (package / "x.py").write_text("CB_HELPER_SOURCE_EOF\n")
    with pytest.raises(BundleError, match="delimiter"):
        render_preamble(package)


def test_pins_fall_in_the_declared_ranges() -> None:
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PACKAGE_DIR.parents[1] / "pyproject.toml").read_text())["project"]
    declared = {Requirement(r).name.lower(): Requirement(r).specifier for r in project["dependencies"]}
    pinned = [Requirement(line) for line in requirements(REQUIREMENTS)]
    names = {r.name.lower() for r in pinned}
    assert set(declared) <= names
    for requirement in pinned:
        (spec,) = requirement.specifier
        assert spec.operator == "==", requirement
        if requirement.name.lower() in declared:
            assert declared[requirement.name.lower()].contains(spec.version), requirement


def _installer_env(tmp_path: Path) -> dict[str, str]:
    return {"CB_PARAM_INSTALL_DIR": str(tmp_path / "install"), "BASH_ENV": str(tmp_path / "bash_env")}


def test_no_op_when_the_same_version_is_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "cb-helper"
    fake.write_text(f"#!/bin/sh\necho 'cb-helper {__version__}'\n")
    fake.chmod(0o755)
    result = run_step("install_helper", {}, [bin_dir], _installer_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout
    assert not (tmp_path / "install").exists()


def test_without_python_it_points_to_the_circle_back_job(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python"):
        old = bin_dir / name
        old.write_text("#!/bin/sh\nexit 1\n")  # a Python older than 3.9 fails the version probe
        old.chmod(0o755)
    env = {**_installer_env(tmp_path), "PATH": f"{bin_dir}:/bin"}
    script, step_env = step_environment("install_helper", {})
    result = subprocess.run(
        ["/bin/bash", script_file(tmp_path, script)],
        env={**step_env, **env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "python3 3.9 or newer" in result.stderr
    assert "circle_back job" in result.stderr


def test_unknown_source_is_bad_input(tmp_path: Path) -> None:
    result = run_step("install_helper", {"source": "nowhere"}, [tmp_path], _installer_env(tmp_path))
    assert result.returncode == 2
    assert "'nowhere'" in result.stderr


@pytest.mark.slow
def test_bundled_install_runs_the_bundled_helper(tmp_path: Path) -> None:
    """A real install from the bundle; third-party packages come from this interpreter (no network)."""
    empty = tmp_path / "requirements.txt"
    empty.write_text("")
    script = render_bundle(requirements_file=empty)
    python_dir = tmp_path / "python-only"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(sys.executable)
    env = {
        **_installer_env(tmp_path),
        "HOME": str(tmp_path),
        "PATH": f"{python_dir}:/usr/bin:/bin",
        "CB_PARAM_SOURCE": "bundled",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    result = subprocess.run(
        ["bash", script_file(tmp_path, script)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"cb-helper {__version__}")
    installed = tmp_path / "install" / "bin" / "cb-helper"
    assert installed.is_symlink()
    assert f'export PATH="{tmp_path}/install/bin:$PATH"' in (tmp_path / "bash_env").read_text()
    probe = subprocess.run(
        [str(installed.resolve().parent / "python"), "-c", "import cb_helper; print(cb_helper.__file__)"],
        env={"PYTHONPATH": env["PYTHONPATH"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.startswith(str(tmp_path / "install"))
