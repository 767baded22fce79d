"""install_helper cold and warm against plain ``pip install --target --no-deps`` of the same wheels.

The pinned wheels are downloaded once into a temporary wheelhouse (pip download, this machine's package
index); every install then reads only that wheelhouse (no index, no network), in a fresh HOME, with this
machine's base Python (which has pip, like cimg/python) as the image's python3. The script runs under bash,
as on cimg/python, and also under dash and busybox sh with busybox's applets alone on PATH, as on an image
without bash.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from tools.orbkit.bundle import REQUIREMENTS, bundle_requirements, helper_version, render_bundle


def _base_python() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _wheelhouse(directory: Path) -> str:
    """Download the pinned wheels; the reason on failure, else an empty string."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         "--dest", str(directory), "--requirement", str(REQUIREMENTS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return lines[-1] if lines else f"pip download exited {result.returncode}"
    return ""


def _busybox_applets(directory: Path) -> Optional[Path]:
    """A directory of links to busybox's applets (a userland without bash), or None without busybox."""
    busybox = shutil.which("busybox")
    if busybox is None:
        return None
    directory.mkdir()
    for applet in subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split():
        (directory / applet).symlink_to(busybox)
    return directory


#: CPU seconds (user + system) of the last command :func:`_timed` ran, its children included.
last_cpu = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: Mapping[str, str]) -> float:
    """Wall-clock seconds of ``args``; its CPU seconds go to :data:`last_cpu`."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    last_cpu[0] = _children_cpu() - cpu
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return elapsed


def _median(label: str, timings: list[float]) -> float:
    value = statistics.median(timings)
    print(f"  {label}: {value:.2f} s (median of {len(timings)}: {', '.join(f'{t:.2f}' for t in timings)})")
    return value


def report(runs: int = 7) -> None:
    print("install_helper (local wheelhouse, no index, fresh HOME):")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wheelhouse = root / "wheelhouse"
        reason = _wheelhouse(wheelhouse)
        if reason:
            print(f"  skipped: the pinned wheels could not be downloaded ({reason})")
            return
        python = _base_python()
        if subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode:
            print(f"  skipped: {python} has no pip to compare with")
            return
        script = root / "install.sh"
        script.write_text(render_bundle())
        bin_dir = root / "image-bin"
        bin_dir.mkdir()
        (bin_dir / "python3").symlink_to(python)
        home = root / "home"
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(home),
            "BASH_ENV": str(root / "bash_env"),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "PIP_ROOT_USER_ACTION": "ignore",
        }
        core, _ = bundle_requirements()
        core_names = {r.split("==")[0].lower().replace("-", "_") for r in core}
        every_wheel = sorted(str(w) for w in wheelhouse.glob("*.whl"))
        core_wheels = [w for w in every_wheel if Path(w).name.split("-")[0].lower() in core_names]

        def cold(extra: Optional[Mapping[str, str]] = None, shell: tuple[str, ...] = ("bash",)) -> float:
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            return _timed([*shell, str(script)], {**env, **(extra or {})})

        def plain(wheels: list[str]) -> float:
            target = root / "target"
            shutil.rmtree(target, ignore_errors=True)
            pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
            return _timed([*pip, *wheels], env)

        page_names = {"jinja2", "markupsafe"}  # the HTML page's template engine, counted on its own
        without_page = [w for w in core_wheels if Path(w).name.split("-")[0].lower() not in page_names]
        rounds: dict[str, list[float]] = {"cold": [], "jq": [], "all": [], "core": [], "no-page": []}
        cpu: dict[str, list[float]] = {"cold": [], "core": []}
        for _ in range(runs):  # interleaved, so that a busy machine weighs on every figure alike
            rounds["cold"].append(cold())
            cpu["cold"].append(last_cpu[0])
            rounds["jq"].append(cold({"CB_PARAM_JQ": "true"}))
            rounds["all"].append(plain(every_wheel))
            rounds["core"].append(plain(core_wheels))
            cpu["core"].append(last_cpu[0])
            rounds["no-page"].append(plain(without_page))
        cold_time = _median("install_helper cold (image pip; no jq)", rounds["cold"])
        cold_jq = _median("install_helper cold, jq: true", rounds["jq"])
        plain_all = _median(f"plain pip --target --no-deps, all {len(every_wheel)} pinned wheels", rounds["all"])
        plain_core = _median(
            f"plain pip --target --no-deps, the {len(core_wheels)} installed by default", rounds["core"]
        )
        plain_no_page = _median(
            f"plain pip --target --no-deps, the same without Jinja2 and MarkupSafe ({len(without_page)})",
            rounds["no-page"],
        )
        print(f"  Jinja2 + MarkupSafe (the HTML page) add {(plain_core - plain_no_page) * 1000:+.0f} ms to plain pip")
        installed = home / ".cb-helper" / "bin"
        again_here = [_timed(["bash", str(script)], env) for _ in range(runs)]
        warm_dir = _median("install_helper warm (installed in install_dir)", again_here)
        on_path = {**env, "PATH": f"{installed}:{env['PATH']}"}
        warm_path = _median(
            "install_helper warm (on PATH)", [_timed(["bash", str(script)], on_path) for _ in range(runs)]
        )
        applets = _busybox_applets(root / "busybox-bin")
        for label, shell in (("dash", ("dash",)), ("busybox sh", ("busybox", "sh"))):
            program = shutil.which(shell[0])
            if applets is None or program is None:
                print(f"  install_helper cold under {label}: skipped ({shell[0]} or busybox is not installed)")
                continue
            no_bash = {"PATH": f"{bin_dir}:{applets}"}
            _median(
                f"install_helper cold under {label}, busybox's applets and no bash on PATH",
                [cold(no_bash, (program, *shell[1:])) for _ in range(max(2, runs // 2))],
            )
        cold()
        lib = str(home / ".cb-helper" / f"helper-{helper_version()}" / "lib")
        imports = [
            python,
            "-IS",
            "-c",
            f"import sys; sys.path[:0] = [{lib!r}]; import cb_helper.cli, cb_helper.api.client",
        ]
        first = _timed(imports, env)
        again = _timed(imports, env)
        print(f"  first command after install imports without bytecode: +{(first - again) * 1000:.0f} ms, once")
        bare = root / "bare"
        subprocess.run([python, "-m", "venv", "--without-pip", str(bare)], check=True)
        no_pip = {**env, "PATH": f"{bare / 'bin'}:/usr/bin:/bin"}
        fallback = _median(
            "install_helper cold, a Python without pip (the venv bootstraps pip)",
            [cold(no_pip) for _ in range(max(2, runs // 2))],
        )
        print(
            f"  ratios: cold / plain pip of all pinned wheels {cold_time / plain_all:.2f}; cold / plain pip of the "
            f"same {len(core_wheels)} wheels {cold_time / plain_core:.2f}; jq: true / all {cold_jq / plain_all:.2f}; "
            f"without pip / all {fallback / plain_all:.2f}; warm {max(warm_dir, warm_path):.2f} s at most"
        )
        # Each round runs both within seconds: the ratio within a round is least moved by other load.
        paired = statistics.median(c / p for c, p in zip(rounds["cold"], rounds["core"]))
        best = min(rounds["cold"]) / min(rounds["core"])
        print(
            f"  cold / plain pip of the same {len(core_wheels)} wheels: median of the {runs} rounds' ratios "
            f"{paired:.2f}; best of {runs} each {best:.2f}"
        )
        # CPU time, which other load on the machine moves far less than wall-clock time.
        cold_cpu, plain_cpu = statistics.median(cpu["cold"]), statistics.median(cpu["core"])
        print(
            f"  CPU seconds (user + system, medians): install_helper cold {cold_cpu:.2f}, plain pip of the same "
            f"{len(core_wheels)} wheels {plain_cpu:.2f}; ratio {cold_cpu / plain_cpu:.2f}"
        )
