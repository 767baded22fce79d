"""Mutation testing of the core modules with mutmut (``make mutate``; ``python -m tools.mutate [GROUP ...]``).

Each group mutates one module (or the runner's workspace and timeline code) and runs only the tests written for
it, in a copy of the repository under ``build/mutate/<group>`` (mutmut reads its settings from the working
directory's ``pyproject.toml``, so each copy gets its own). Within a group mutmut runs, for each mutant, only the
selected tests that call the mutated function. The result is a table per module and the list of survivors, on
stdout and in ``build/mutate/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
#: Why each known survivor is left: ``{mutant name: one line}``. A survivor missing here is reported as new.
REASONS = Path(__file__).resolve().parent / "mutants_left.json"


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]  # paths under src/cb_helper
    tests: tuple[str, ...]  # pytest arguments that select the group's tests


GROUPS = (
    Group(
        "approve",
        ("pattern/approve.py",),
        (
            "tests/helper/test_approve_cli.py",
            "tests/helper/test_approve_record.py",
            "tests/helper/test_record_cli.py",
            "tests/helper/test_outputs_cli.py",
        ),
    ),
    Group(
        "status",
        ("pattern/status.py",),
        ("tests/helper/test_status_cli.py", "tests/helper/test_settle.py", "tests/unit/test_links.py"),
    ),
    Group(
        "trigger",
        ("pattern/trigger.py",),
        ("tests/helper/test_trigger_cli.py", "tests/helper/test_record_cli.py", "tests/helper/test_client.py"),
    ),
    Group(
        "client",
        ("api/client.py",),
        (
            "tests/helper/test_client.py",
            "tests/helper/test_client_wire.py",
            "tests/helper/test_misc_cli.py",
            "tests/unit/test_never_connected.py",
        ),
    ),
    Group("pages", ("api/pages.py",), ("tests/helper/test_client.py", "tests/helper/test_client_wire.py")),
    Group("retry", ("api/retry.py",), ("tests/unit/test_retry_and_auth.py", "tests/helper/test_client.py")),
    Group(
        "vocabulary",
        ("api/vocabulary.py",),
        (
            "tests/unit/test_vocabulary.py",
            "tests/helper/test_trigger_cli.py",
            "tests/helper/test_approve_cli.py",
        ),
    ),
    Group("cancel", ("pattern/cancel.py",), ("tests/helper/test_misc_cli.py",)),
    Group("sweep_checks", ("pattern/sweep_checks.py",), ("tests/helper/test_sweep_cli.py",)),
    Group(
        "runner",
        ("rehearse/files.py", "rehearse/timeline.py"),
        (
            "tests/rehearse/test_workspace.py",
            "tests/rehearse/test_files.py",
            "tests/rehearse/test_timeline.py",
            "tests/rehearse/test_execution.py",
            "tests/rehearse/test_engine.py",
        ),
    ),
)

#: mutmut's verdicts that mean a test noticed the mutant (a timeout: the mutant made a test hang).
DETECTED = frozenset({"killed", "timeout", "caught by type check"})
_MODULE = re.compile(r"^(?P<module>[\w.]+?)\.x[_ǁ]")


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def prepare(group: Group) -> Path:
    """A fresh copy of src/ and tests/ with a pyproject.toml that configures mutmut for ``group``."""
    where = WORK / group.name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", where / "src", ignore=ignore)
    shutil.copytree(ROOT / "tests", where / "tests", ignore=ignore)
    shutil.copytree(ROOT / "docs", where / "docs", ignore=ignore)  # some tests hold the docs to the code
    write_settings(group, where)
    return where


def write_settings(group: Group, where: Path) -> None:
    """The ``pyproject.toml`` mutmut and pytest read in ``where``."""
    (where / "pyproject.toml").write_text(
        "\n".join(
            [
                "[tool.mutmut]",
                'source_paths = ["src/cb_helper"]',
                'also_copy = ["docs"]',
                f"only_mutate = {_toml_list([f'src/cb_helper/{m}' for m in group.modules])}",
                f"pytest_add_cli_args_test_selection = {_toml_list(list(group.tests))}",
                'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist"]',
                "",
                "[tool.pytest.ini_options]",
                'testpaths = ["tests"]',
                'addopts = "--strict-markers"',
                'markers = ["slow: longer end-to-end tests"]',
                "",
            ]
        ),
        encoding="utf-8",
    )


MUTMUT = [sys.executable, "-m", "mutmut"]
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def run_group(group: Group, children: int) -> dict[str, str]:
    """Run mutmut for ``group``; return ``{mutant name: verdict}``."""
    where = prepare(group)
    with (where / "run.log").open("w", encoding="utf-8") as log:
        # Its exit status says nothing about survivors; the results below do.
        command = [*MUTMUT, "run", "--max-children", str(children)]
        subprocess.run(command, cwd=where, env=ENV, stdout=log, stderr=log, check=False)
    return save(group, mutmut_results(group))


def retest(group: Group, children: int) -> dict[str, str]:
    """Test the survivors of the last run again, against the current tests (the mutants stay as they were).

    Only the survivors run again; the mutants killed before stay killed (tests are added, not taken away).
    mutmut forgets every verdict when the tests change, so the verdicts are kept in ``verdicts.json``.
    """
    where = WORK / group.name
    before = collect(group)
    changed = [m for m in group.modules if _read(ROOT / "src/cb_helper" / m) != _read(where / "src/cb_helper" / m)]
    if changed:  # the mutants were made from the old code: the current tests could "kill" them by failing on it
        raise SystemExit(f"{', '.join(changed)} changed since {group.name}'s last run; run the group again instead")
    survivors = [name for name, verdict in before.items() if verdict not in DETECTED]
    if not survivors:
        return before
    write_settings(group, where)
    (where / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)  # which tests reach which function: anew
    for copy in (where / "tests", where / "mutants" / "tests"):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ROOT / "tests", copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with (where / "retest.log").open("w", encoding="utf-8") as log:
        command = [*MUTMUT, "run", "--max-children", str(children), *survivors]
        subprocess.run(command, cwd=where, env=ENV, stdout=log, stderr=log, check=False)
    after = mutmut_results(group)
    again = {name: after[name] for name in survivors if after.get(name, "not checked") != "not checked"}
    return save(group, {**before, **again})


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def save(group: Group, verdicts: dict[str, str]) -> dict[str, str]:
    (WORK / group.name / "verdicts.json").write_text(json.dumps(verdicts, indent=1, sort_keys=True), encoding="utf-8")
    return verdicts


def collect(group: Group) -> dict[str, str]:
    """The verdicts of the last run (and retests) of ``group``."""
    saved = WORK / group.name / "verdicts.json"
    if not saved.is_file():
        raise SystemExit(f"{group.name} has not been run (no {saved})")
    verdicts: dict[str, str] = json.loads(saved.read_text(encoding="utf-8"))
    return verdicts


def mutmut_results(group: Group) -> dict[str, str]:
    """``{mutant name: verdict}`` as mutmut lists them in the group's directory."""
    where = WORK / group.name
    listed = subprocess.run(
        [*MUTMUT, "results", "--all", "true"], cwd=where, env=ENV, capture_output=True, text=True, check=True
    )
    verdicts: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        name, sep, verdict = line.strip().rpartition(": ")
        if sep and name:
            verdicts[name] = verdict
    if not verdicts:
        raise SystemExit(f"mutmut produced no results for {group.name}; see {where / 'run.log'}")
    return verdicts


def module_of(mutant: str) -> str:
    match = _MODULE.match(mutant)
    return match.group("module") if match else mutant.split("__mutmut_", maxsplit=1)[0]


def reasons() -> dict[str, str]:
    if not REASONS.is_file():
        return {}
    known: dict[str, str] = json.loads(REASONS.read_text(encoding="utf-8"))
    return known


def report(results: dict[str, dict[str, str]]) -> str:
    why = reasons()
    lines = [
        "| module | mutants | killed | timeout | survived | no tests | not run | killed % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    survivors: list[str] = []
    total = Counter[str]()
    for verdicts in results.values():
        by_module: dict[str, Counter[str]] = {}
        for name, verdict in sorted(verdicts.items()):
            by_module.setdefault(module_of(name), Counter())[verdict] += 1
            if verdict not in DETECTED:
                survivors.append(f"- `{name}`: {why.get(name, f'{verdict}, no reason recorded yet')}")
        for module, counts in by_module.items():
            total.update(counts)
            lines.append(_row(module, counts))
    lines.append(_row("**all**", total))
    return "\n".join([*lines, "", "Survivors:" if survivors else "No survivors.", *survivors, ""])


def _row(module: str, counts: Counter[str]) -> str:
    n = sum(counts.values())
    detected = sum(counts[v] for v in DETECTED)
    not_run = n - detected - counts["survived"] - counts["no tests"]
    return (
        f"| {module} | {n} | {detected - counts['timeout']} | {counts['timeout']} | {counts['survived']} "
        f"| {counts['no tests']} | {not_run} | {100 * detected / n:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of: {', '.join(g.name for g in GROUPS)}")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1: the cores are shared)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--report", action="store_true", help="only report the last run of each group")
    mode.add_argument("--retest", action="store_true", help="test the last run's survivors against the current tests")
    args = parser.parse_args(argv)
    known = {g.name: g for g in GROUPS}
    unknown = [name for name in args.groups if name not in known]
    if unknown or args.jobs < 1:
        parser.error(f"unknown group {unknown[0]!r}" if unknown else f"--jobs {args.jobs} is not a positive number")
    chosen = [known[name] for name in args.groups] or list(GROUPS)
    results: dict[str, dict[str, str]] = {}
    for group in chosen:
        if args.report or args.retest:
            results[group.name] = retest(group, args.jobs) if args.retest else collect(group)
            continue
        print(f"mutating {group.name}: {', '.join(group.modules)}", file=sys.stderr, flush=True)
        results[group.name] = run_group(group, args.jobs)
    text = report(results)
    (WORK / "results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
