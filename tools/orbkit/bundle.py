"""Bundle cb-helper's own sources into the orb, and pack the orb with them.

The bundle is a bash script (``scripts/helper_bundle.sh`` in the packed orb): a generated preamble that
sets the helper's version and pinned requirements and defines ``cb_bundle_write DIR``, which writes every
bundled source file (and the HTML page's Jinja2 template) with a quoted heredoc (readable, not a blob),
followed by ``scripts/install_helper.sh``.
The simulator and the local runner are left out: pipelines do not need them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tools.orbkit.pack import pack_orb

REPO_ROOT = Path(__file__).resolve().parents[2]
ORB_SRC = REPO_ROOT / "orb" / "src"
PACKAGE_DIR = REPO_ROOT / "src" / "cb_helper"
REQUIREMENTS = REPO_ROOT / "orb" / "helper-requirements.txt"
BUNDLE_PATH = "scripts/helper_bundle.sh"
INSTALLER_PATH = "scripts/install_helper.sh"
#: Subpackages that stay out of the bundle, and the commands that only run them.
EXCLUDED = ("sim", "rehearse")
EXCLUDED_FILES = frozenset({"commands/sim.py", "commands/rehearse.py"})
#: Pinned packages the bundled helper never imports: only the simulator and the runner, left out, use them.
UNBUNDLED_PACKAGES = frozenset({"pyyaml"})
#: Pinned packages installed only on request (install_helper's ``jq``): no orb step uses ``--jq``.
JQ_PACKAGES = frozenset({"jq"})
DELIMITER = "CB_HELPER_SOURCE_EOF"

_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


class BundleError(Exception):
    """The helper cannot be bundled as it stands."""


def helper_version(package_dir: Path = PACKAGE_DIR) -> str:
    """The version in ``cb_helper/__init__.py``: the one source of truth for the package and the orb."""
    match = _VERSION.search((package_dir / "__init__.py").read_text(encoding="utf-8"))
    if not match:
        raise BundleError(f"no __version__ in {package_dir / '__init__.py'}")
    return match.group(1)


def bundled_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The helper's files that go into the orb, relative to the package's parent directory."""
    files = []
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if not path.is_file() or "__pycache__" in relative.parts or relative.parts[0] in EXCLUDED:
            continue
        if relative.as_posix() in EXCLUDED_FILES:
            continue
        if path.suffix == ".py" or path.name == "py.typed" or path.suffix == ".j2":
            files.append(path.relative_to(package_dir.parent))
    return files


def requirements(path: Path = REQUIREMENTS) -> list[str]:
    """The pinned third-party requirements, one per non-comment line."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def requirement_name(requirement: str) -> str:
    """The normalized project name of a requirement line (``PyYAML==6.0.4; ...`` -> ``pyyaml``)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if not match:
        raise BundleError(f"requirement {requirement!r} does not start with a project name")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def bundle_requirements(path: Path = REQUIREMENTS) -> tuple[list[str], list[str]]:
    """The pins the bundled helper is installed with, and those added only for the jq binding."""
    pins = [r for r in requirements(path) if requirement_name(r) not in UNBUNDLED_PACKAGES]
    return (
        [r for r in pins if requirement_name(r) not in JQ_PACKAGES],
        [r for r in pins if requirement_name(r) in JQ_PACKAGES],
    )


def render_bundle(
    package_dir: Path = PACKAGE_DIR, orb_src: Path = ORB_SRC, requirements_file: Path = REQUIREMENTS
) -> str:
    """Return the text of ``scripts/helper_bundle.sh``: the preamble, then the installer."""
    installer = (orb_src / INSTALLER_PATH).read_text(encoding="utf-8")
    body = installer.split("\n", 1)[1] if installer.startswith("#!") else installer
    return render_preamble(package_dir, requirements_file) + body


def render_preamble(package_dir: Path = PACKAGE_DIR, requirements_file: Path = REQUIREMENTS) -> str:
    """The generated part: version, pinned requirements and ``cb_bundle_write DIR``."""
    version = helper_version(package_dir)
    core, jq = bundle_requirements(requirements_file)
    out = [
        "#!/usr/bin/env bash",
        f"# Generated at pack time from src/cb_helper (cb-helper {version}) and {INSTALLER_PATH}.",
        "# Do not edit: run `python -m tools.orbkit bundle` (or pack) again.",
        f"CB_BUNDLE_VERSION={shlex.quote(version)}",
        f"CB_BUNDLE_REQUIREMENTS=({' '.join(shlex.quote(r) for r in core)})",
        f"CB_BUNDLE_JQ=({' '.join(shlex.quote(r) for r in jq)})",
        "",
        "cb_bundle_write() {",
    ]
    directories: set[str] = set()
    for relative in bundled_files(package_dir):
        parent = relative.parent.as_posix()
        if parent not in directories:
            directories.add(parent)
            out.append(f'  mkdir -p "$1/{parent}"')
        text = (package_dir.parent / relative).read_text(encoding="utf-8")
        _check_bundleable(relative, text)
        out.append(f"  cat > \"$1/{relative.as_posix()}\" <<'{DELIMITER}'")
        out.append(text + ("" if text.endswith("\n") or not text else "\n") + DELIMITER)
    out.extend(["}", "", ""])
    return "\n".join(out)


def _check_bundleable(relative: Path, text: str) -> None:
    if DELIMITER in text.splitlines():
        raise BundleError(f"{relative} contains a line {DELIMITER}, the heredoc delimiter")
    if "\\<<" in text:
        raise BundleError(f"{relative} contains '\\<<', which packing would make ambiguous")
    if "\r" in text:
        raise BundleError(f"{relative} has carriage returns (expected Unix line ends)")


def build_orb(orb_src: Path = ORB_SRC, package_dir: Path = PACKAGE_DIR) -> str:
    """Pack ``orb_src`` with the helper bundle generated in memory (the source tree is not touched)."""
    bundle = render_bundle(package_dir, orb_src)
    return pack_orb(orb_src, overlay={BUNDLE_PATH: bundle})
