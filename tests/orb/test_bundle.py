"""The helper bundled in the orb: the modules cb-helper imports, compressed, at the package's version, and the
installer's paths, under bash, dash and busybox ash."""

from __future__ import annotations

import base64
import io
import os
import re
import sys
import tarfile
from pathlib import Path

import pytest

from cb_helper import __version__
from tests.orb.runstep import packed_orb, run_script, run_step, step_environment
from tools.orbkit.bundle import (
    DELIMITER,
    PACKAGE_DIR,
    REQUIREMENTS,
    BundleError,
    bundled_files,
    bundled_text,
    helper_version,
    module_closure,
    render_bundle,
    render_preamble,
    requirements,
    slim_source,
)


def test_version_has_one_source() -> None:
    assert helper_version() == __version__
    script, _ = step_environment("install_helper", {})
    assert f"CB_BUNDLE_VERSION={__version__}\n" in script


def test_bundle_unpacks_the_package_sources(shell: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = render_preamble() + f'\ncb_bundle_write "{sys.executable}" "{out}"\n'
    result = run_script(script, dict(os.environ), tmp_path / "step", shell=shell)
    assert result.returncode == 0, result.stderr
    files = bundled_files()
    for relative in files:
        original = (PACKAGE_DIR.parent / relative).read_text()
        written = (out / relative).read_text()
        assert written == bundled_text(PACKAGE_DIR.parent, relative)
        assert len(written.splitlines()) == len(original.splitlines())  # tracebacks point at the same lines
        assert "#" not in "".join(line for line in written.splitlines() if line.lstrip().startswith("#"))
    # The commands keep their docstrings (click shows them as help); the library modules do not.
    assert '"""Trigger' in (out / "cb_helper/commands/trigger.py").read_text()
    assert (out / "cb_helper/api/client.py").read_text().startswith('""\n')
    written_files = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    assert written_files == set(files)


def test_slim_source_drops_comments_and_docstrings_and_keeps_every_line() -> None:
    source = '''"""Module.

More.
"""
import os  # why


class Thing:
    """A thing."""


def f(x):
    """Two
    lines."""
    # a whole line
    return "# not a comment" + x  # a comment
'''
    assert (
        slim_source(source, docstrings=False)
        == """""



import os


class Thing:
    ""


def f(x):
    ""


    return "# not a comment" + x
"""
    )
    kept = slim_source(source)
    assert '"""A thing."""' in kept
    assert "# why" not in kept
    assert len(kept.splitlines()) == len(source.splitlines())


def _payload(command: str) -> bytes:
    lines = command.split("\n")
    start = next(i for i, line in enumerate(lines) if line.endswith(f"<< '{DELIMITER}'"))
    end = lines.index(DELIMITER, start)
    return base64.b85decode("".join(lines[start + 1 : end]))


def test_the_packed_orb_carries_the_modules_compressed() -> None:
    command = packed_orb()["commands"]["install_helper"]["steps"][0]["run"]["command"]
    assert command.replace("\\<<", "<<") == render_bundle()
    assert "def main(" not in command  # not the sources as text: a bzip2-compressed tar
    payload = _payload(command.replace("\\<<", "<<"))  # as CircleCI compiles it
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:bz2") as bundle:
        assert sorted(bundle.getnames()) == sorted(f.as_posix() for f in bundled_files())
        for relative in bundled_files():
            member = bundle.extractfile(relative.as_posix())
            assert member is not None
            assert member.read().decode() == bundled_text(PACKAGE_DIR.parent, relative)
    sources = sum((PACKAGE_DIR.parent / f).stat().st_size for f in bundled_files())
    assert len(payload) < sources / 4


def test_only_what_cb_helper_imports_is_bundled() -> None:
    modules = module_closure()
    # The commands the orb's steps run, and the modules they import inside their functions.
    scripts = "".join(p.read_text() for p in (PACKAGE_DIR.parents[1] / "orb" / "src" / "scripts").glob("*.sh"))
    used = set(re.findall(r"(?:set --|exec cb-helper|cb-helper) (trigger|approve|status|sweep)\b", scripts))
    assert used == {"trigger", "approve", "status", "sweep"}
    assert {f"cb_helper.commands.{name}" for name in used} <= set(modules)
    assert {"cb_helper.pattern.trigger", "cb_helper.pattern.approve", "cb_helper.api.client"} <= set(modules)
    # The simulator and the runner (and their commands) stay out; so does python -m cb_helper.
    assert not [m for m in modules if m.split(".")[1:2] in (["sim"], ["rehearse"])]
    assert not {"cb_helper.commands.sim", "cb_helper.commands.rehearse", "cb_helper.__main__"} & set(modules)
    assert Path("cb_helper/py.typed") not in bundled_files()
    # The data files of bundled packages come along: the HTML page's template.
    assert Path("cb_helper/pattern/templates/report.html.j2") in bundled_files()


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "cb_helper"
    for name, text in {"__init__.py": '__version__ = "9.9.9"\n', **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


def test_the_closure_follows_imports_in_functions_but_not_type_checking(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "cli.py": "from typing import TYPE_CHECKING\nfrom . import a\nif TYPE_CHECKING:\n    import cb_helper.b\n",
            "a.py": "def f():\n    try:\n        from cb_helper.c import x\n    except ImportError:\n        pass\n",
            "b.py": "",
            "c/__init__.py": "",
            "c/x.py": "",
            "unused.py": "",
        },
    )
    assert module_closure(package) == ["cb_helper", "cb_helper.a", "cb_helper.c", "cb_helper.c.x", "cb_helper.cli"]


def test_a_bundled_module_that_imports_the_simulator_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path, {"cli.py": "def sim():\n    import cb_helper.sim.server\n", "sim/server.py": ""})
    with pytest.raises(BundleError, match=r"cb_helper\.sim\S* would be bundled"):
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


def test_no_op_when_the_same_version_is_on_path(shell: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "cb-helper"
    fake.write_text(f"#!/bin/sh\necho 'cb-helper {__version__}'\n")
    fake.chmod(0o755)
    result = run_step("install_helper", {}, [bin_dir], _installer_env(tmp_path), shell=shell)
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout
    assert not (tmp_path / "install").exists()


def test_without_python_it_points_to_the_circle_back_job(shell: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python"):
        old = bin_dir / name
        old.write_text("#!/bin/sh\nexit 1\n")  # a Python older than 3.9 fails the version probe
        old.chmod(0o755)
    env = {**_installer_env(tmp_path), "PATH": f"{bin_dir}:/bin"}
    script, step_env = step_environment("install_helper", {})
    result = run_script(script, {**step_env, **env, "HOME": str(tmp_path)}, tmp_path / "step", shell=shell)
    assert result.returncode == 2
    assert "python3 3.9 or newer" in result.stderr
    assert "circle_back job" in result.stderr


def test_unknown_source_is_bad_input(shell: str, tmp_path: Path) -> None:
    result = run_step("install_helper", {"source": "nowhere"}, [tmp_path], _installer_env(tmp_path), shell=shell)
    assert result.returncode == 2
    assert "'nowhere'" in result.stderr


def test_a_python_without_bz2_is_refused_before_anything_is_installed(shell: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    no_bz2 = tmp_path / "no-bz2"
    no_bz2.mkdir()
    (no_bz2 / "sitecustomize.py").write_text("import sys\nsys.modules['_bz2'] = None  # as if built without libbz2\n")
    env = {**_installer_env(tmp_path), "PYTHONPATH": str(no_bz2)}
    result = run_step("install_helper", {}, [bin_dir], env, shell=shell)
    assert result.returncode == 2
    assert "python3 has no bz2 module" in result.stderr
    assert "source: index" in result.stderr
    assert not (tmp_path / "install").exists()
