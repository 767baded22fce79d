"""install_helper for real and offline: a local wheelhouse of the helper's own packages, packed again from
this interpreter, and stand-in wheels built on the spot. Under bash, and under dash and busybox ash with a
userland that has no bash (busybox's applets and a Python with pip, as on python:3-alpine)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cb_helper import __version__
from cb_helper.sim import SimServer
from tests.conftest import PROJECT_A, PROJECT_B
from tests.helper.conftest import finish_downstream
from tests.orb.runstep import run_script, run_step, shell_command, step_environment
from tests.orb.wheels import build_wheel, wheel_from_installed
from tools.orbkit.bundle import (
    JQ_PACKAGES,
    PACKAGE_DIR,
    REQUIREMENTS,
    UNBUNDLED_PACKAGES,
    bundle_requirements,
    bundled_files,
    bundled_text,
    render_bundle,
    requirement_name,
)

#: What the bundled helper imports, at the versions installed here.
HELPER_PACKAGES = ("requests", "urllib3", "idna", "certifi", "charset-normalizer", "click", "jinja2", "markupsafe")
#: Stand-ins: a pin with a dependency the wheelhouse lacks (only --no-deps installs it), a jq binding,
#: and a PyYAML the wheelhouse lacks (installing it would fail).
STAND_INS = ["core-dep==1.0", "jq==1.0", "PyYAML==9.9"]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("wheelhouse")
    pins = [wheel_from_installed(directory, name)[0] for name in HELPER_PACKAGES]
    build_wheel(directory, "core-dep", "1.0", requires=["not-in-the-wheelhouse>=1"])
    build_wheel(directory, "jq", "1.0")
    return directory, pins


@pytest.fixture
def installer(tmp_path: Path, wheelhouse: tuple[Path, list[str]]) -> Path:
    requirements = tmp_path / "helper-requirements.txt"
    requirements.write_text("\n".join([*wheelhouse[1], *STAND_INS]) + "\n")
    script = tmp_path / "install.sh"
    script.write_text(render_bundle(requirements_file=requirements))
    (tmp_path / "wheelhouse").symlink_to(wheelhouse[0])
    return script


@pytest.fixture(params=["bash", "dash", "busybox"])
def image(request: pytest.FixtureRequest, no_bash_userland: Path) -> tuple[str, str]:
    """The shell a step runs under and the rest of PATH: bash on this machine's userland, or dash or busybox
    ash on busybox's applets alone (no bash anywhere on PATH)."""
    name = str(request.param)
    return name, "/usr/bin:/bin" if name == "bash" else str(no_bash_userland)


def python_only(tmp_path: Path) -> Path:
    """A directory holding this interpreter (which has pip) as python3, and nothing else."""
    directory = tmp_path / "python-only"
    directory.mkdir(exist_ok=True)
    if not (directory / "python3").exists():
        (directory / "python3").symlink_to(sys.executable)
    return directory


def run_installer(
    script: Path,
    tmp_path: Path,
    python_dir: Path | None = None,
    image: tuple[str, str] = ("bash", "/usr/bin:/bin"),
    **params: str,
) -> subprocess.CompletedProcess[str]:
    """Run the installer under ``image``'s shell with ``python_dir`` (default: :func:`python_only`) first on PATH."""
    python_dir = python_dir or python_only(tmp_path)
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{python_dir}:{image[1]}",
        "BASH_ENV": str(tmp_path / "bash_env"),
        "CB_PARAM_INSTALL_DIR": str(tmp_path / "install"),
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(tmp_path / "wheelhouse"),
        **params,
    }
    return subprocess.run(
        [*shell_command(image[0]), str(script)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def installed(tmp_path: Path) -> list[str]:
    lib = tmp_path / "install" / f"helper-{__version__}" / "lib"
    return sorted(p.name.split("-")[0] for p in lib.glob("*.dist-info"))


HELPER_DISTS = ["certifi", "charset_normalizer", "click", "idna", "jinja2", "markupsafe", "requests", "urllib3"]


def test_the_images_pip_installs_the_pins_alone(installer: Path, tmp_path: Path, image: tuple[str, str]) -> None:
    result = run_installer(installer, tmp_path, image=image)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"cb-helper {__version__}")
    assert "bootstrapping pip" not in result.stdout
    lib = tmp_path / "install" / f"helper-{__version__}" / "lib"
    assert installed(tmp_path) == sorted([*HELPER_DISTS, "core_dep"])  # --no-deps; jq only if asked; no PyYAML
    assert not (lib / "pip").exists()
    assert not list((lib / "requests").rglob("*.pyc"))  # no bytecode compiled at install time
    assert (lib / "cb_helper" / "cli.py").read_text() == bundled_text(PACKAGE_DIR.parent, Path("cb_helper/cli.py"))
    assert f'export PATH="{tmp_path}/install/bin:$PATH"' in (tmp_path / "bash_env").read_text()

    # Isolated from the image: packages on PYTHONPATH shadow neither its pins nor the standard library.
    shadow = tmp_path / "shadow"
    for name in ("click", "logging"):
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(f"raise ImportError('the image has a broken {name}')\n")
    helper = tmp_path / "install" / "bin" / "cb-helper"
    ran = subprocess.run(
        [str(helper), "--version"], env={"PYTHONPATH": str(shadow)}, capture_output=True, text=True, check=False
    )
    assert ran.stdout == f"cb-helper {__version__}\n", ran.stderr
    package = subprocess.run(
        [sys.executable, "-m", "cb_helper", "--version"], capture_output=True, text=True, check=True
    )
    assert ran.stdout == package.stdout  # the launcher answers --version as the command line does
    ran = subprocess.run(
        [str(helper), "--debug", "--version"],
        env={"PYTHONPATH": str(shadow)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.stdout == f"cb-helper {__version__}\n", ran.stderr  # through click, isolated from the shadows

    page = "{'title': 'the page', 'verdict': {'status': 'success', 'text': '<b>'}, 'now': 1.0}"
    rendered = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = [{str(lib)!r}]; "
         f"from cb_helper.pattern.report_html import render_page; print(render_page({page}))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "<title>the page</title>" in rendered.stdout, rendered.stderr  # the template and Jinja2 came along
    assert "<p>&lt;b&gt;</p>" in rendered.stdout

    # Without the library's docstrings and comments, every command still says what the package says.
    if image[0] == "bash":
        for command in ("trigger", "approve", "status", "outputs", "sweep", "workflows", "jobs", "cancel"):
            bundled = subprocess.run([str(helper), command, "--help"], capture_output=True, text=True, check=False)
            package = subprocess.run(
                [sys.executable, "-m", "cb_helper", command, "--help"], capture_output=True, text=True, check=False
            )
            assert bundled.stdout == package.stdout, command
            assert len(bundled.stdout.splitlines()) > 5

    # The next step of the job: installed in install_dir already, nothing is installed again.
    (tmp_path / "bash_env").unlink()
    again = run_installer(installer, tmp_path, image=image, PIP_FIND_LINKS=str(tmp_path / "nowhere"))
    assert again.returncode == 0, again.stderr
    assert "already installed in" in again.stdout
    assert f'export PATH="{tmp_path}/install/bin:$PATH"' in (tmp_path / "bash_env").read_text()


def test_the_jq_binding_only_when_asked(installer: Path, tmp_path: Path, image: tuple[str, str]) -> None:
    first = run_installer(installer, tmp_path, image=image)
    assert first.returncode == 0, first.stderr
    assert "jq" not in installed(tmp_path)
    # A later step asks for jq: the install without it does not do, even on PATH.
    on_path = tmp_path / "python-only"
    (on_path / "cb-helper").symlink_to(tmp_path / "install" / "bin" / "cb-helper")
    result = run_installer(installer, tmp_path, image=image, CB_PARAM_JQ="true")
    assert result.returncode == 0, result.stderr
    assert "already installed" not in result.stdout
    assert installed(tmp_path) == sorted([*HELPER_DISTS, "core_dep", "jq"])
    again = run_installer(installer, tmp_path, image=image, CB_PARAM_JQ="true")
    assert "already installed" in again.stdout


def test_a_jq_value_that_is_not_a_boolean_is_bad_input(tmp_path: Path) -> None:
    result = run_step("install_helper", {"jq": "maybe"}, [tmp_path], {"CB_PARAM_INSTALL_DIR": str(tmp_path / "i")})
    assert result.returncode == 2
    assert "jq 'maybe' is not a boolean" in result.stderr
    assert not (tmp_path / "i").exists()


def test_source_index_resolves_dependencies(
    installer: Path, tmp_path: Path, wheelhouse: tuple[Path, list[str]]
) -> None:
    """cb-helper from a package index (here a stand-in in the wheelhouse) comes with its dependencies."""
    index = tmp_path / "index"
    index.mkdir()
    for wheel in wheelhouse[0].iterdir():
        (index / wheel.name).symlink_to(wheel)
    cli = f"def main():\n    print('cb-helper {__version__} from the index')\n    return 0\n"
    build_wheel(index, "cb-helper", __version__, requires=["jq==1.0"], modules={"cli.py": cli})
    result = run_installer(installer, tmp_path, CB_PARAM_SOURCE="index", PIP_FIND_LINKS=str(index))
    assert result.returncode == 0, result.stderr
    assert f"Installing cb-helper=={__version__} from a package index" in result.stdout
    assert result.stdout.strip().endswith(f"cb-helper {__version__} from the index")
    assert installed(tmp_path) == ["cb_helper", "jq"]


@pytest.mark.slow
def test_a_python_without_pip_bootstraps_pip_and_says_so(installer: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python3")
    if subprocess.run([python, "-c", "import pip"], capture_output=True, check=False).returncode == 0:
        pytest.skip("this interpreter's venvs see a pip; there is no Python without pip to try")
    if subprocess.run([python, "-m", "ensurepip", "--version"], capture_output=True, check=False).returncode:
        pytest.skip("this interpreter has no ensurepip, so a venv cannot bootstrap pip")
    result = run_installer(installer, tmp_path, bare / "bin")
    assert result.returncode == 0, result.stderr
    assert "has no pip: bootstrapping pip" in result.stdout
    assert result.stdout.strip().endswith(f"cb-helper {__version__}")
    assert installed(tmp_path) == sorted([*HELPER_DISTS, "core_dep"])


def test_pins_split_into_core_jq_and_unbundled() -> None:
    core, jq = bundle_requirements(REQUIREMENTS)
    assert {requirement_name(r) for r in jq} == JQ_PACKAGES
    names = {requirement_name(r) for r in core}
    assert {"requests", "click", "urllib3", "certifi"} <= names
    assert not names & (JQ_PACKAGES | UNBUNDLED_PACKAGES)


def _third_party_imports(tree: ast.AST) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    return {m for m in modules if m not in stdlib and m not in ("cb_helper", "__future__")}


def test_the_bundled_sources_import_only_what_the_install_brings() -> None:
    """requests and click always; jq (--jq) and jinja2 (--html) only inside a function; never yaml (the runner's)."""
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("needs Python 3.10+ to tell the standard library apart")
    top_level: set[str] = set()
    anywhere: set[str] = set()
    for relative in bundled_files():
        if relative.suffix != ".py":  # the HTML page's template
            continue
        tree = ast.parse((PACKAGE_DIR.parent / relative).read_text())
        anywhere |= _third_party_imports(tree)
        module_level = ast.Module([n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], [])
        top_level |= _third_party_imports(module_level)
    assert top_level == {"requests", "click"}
    assert anywhere == {"requests", "click", "jq", "jinja2"}


def test_every_step_runs_the_installed_helper_without_bash(
    installer: Path, tmp_path: Path, posix_shell: str, no_bash_userland: Path, sim: SimServer
) -> None:
    """On an image without bash: install, then each orb step under the same sh, against the simulator.

    CircleCI reads $BASH_ENV only for bash, so the later steps find cb-helper through it themselves; each
    runs the installed helper's real command (trigger, status, approve, sweep).
    """
    image = (posix_shell, str(no_bash_userland))
    install = run_installer(installer, tmp_path, image=image)
    assert install.returncode == 0, install.stderr
    path = f"{python_only(tmp_path)}:{no_bash_userland}"  # cb-helper is not on it
    job_env = {
        "HOME": str(tmp_path),
        "PATH": path,
        "BASH_ENV": str(tmp_path / "bash_env"),
        "CIRCLECI_HOST": sim.url,
        "CIRCLE_TOKEN": sim.token,
    }

    def step(command: str, arguments: dict[str, object], index: int = 0) -> subprocess.CompletedProcess[str]:
        script, env = step_environment(command, arguments, index)
        ran = run_script(script, {**env, **job_env}, tmp_path / command, shell=posix_shell)
        assert "not found" not in ran.stderr, ran.stderr
        return ran

    id_file = tmp_path / "pipeline-id"
    trigger = step(
        "trigger_pipeline",
        {
            "project_slug": PROJECT_B,
            "branch": "main",
            "handoff": "legacy",
            "verify_start": False,
            "pipeline_id_file": str(id_file),
        },
    )
    assert trigger.returncode == 0, trigger.stderr
    pipeline_id = id_file.read_text().strip()
    assert sim.state.get_pipeline(pipeline_id).project_slug == PROJECT_B
    finish_downstream(sim, pipeline_id, {"unit": "success"})
    check = step("check_status", {"pipeline_id": pipeline_id, "timeout": 30, "interval": 1})
    assert check.returncode == 0, check.stderr
    assert "workflow test: success" in check.stdout
    circle_back = step("approve_job", {})
    assert circle_back.returncode == 0, circle_back.stderr
    sweep = step("sweep", {"projects": PROJECT_A, "dry_run": True})
    assert sweep.returncode == 0, sweep.stderr
