"""``python -m tools.orbkit check``: pack, validate, semantic checks, review, footprint, shellcheck and yamllint."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.orbkit.bundle import BUNDLE_PATH, ORB_SRC, PACKAGE_DIR, REPO_ROOT, build_orb, helper_version, render_bundle
from tools.orbkit.footprint import COMMAND_BUDGET, JOB_BUDGET, budget_problems
from tools.orbkit.goyaml import load_file, load_text
from tools.orbkit.lint import shellcheck, yamllint
from tools.orbkit.review import Review
from tools.orbkit.schema import validate
from tools.orbkit.semantic import check_orb, check_usage

ORB_REF = "circleback/circleback"
ORB_ALIAS = "circleback"
CIRCLECI_DIR = REPO_ROOT / ".circleci"
YAMLLINT_CONFIG = REPO_ROOT / ".yamllint"
DIST_ORB = REPO_ROOT / "dist" / "orb.yml"


@dataclass
class Section:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def project_configs(circleci_dir: Path = CIRCLECI_DIR) -> dict[str, Any]:
    """The project's own CircleCI configs, by file name."""
    if not circleci_dir.is_dir():
        return {}
    return {path.name: load_file(path) for path in sorted(circleci_dir.glob("*.yml"))}


def example_version_problems(orb: dict[str, Any], version: str) -> list[str]:
    """Examples must import the orb at the helper's major.minor version (one source of truth)."""
    wanted = ".".join(version.split(".")[:2])
    problems = []
    for name, example in (orb.get("examples") or {}).items():
        reference = str(((example.get("usage") or {}).get("orbs") or {}).get(ORB_ALIAS, ""))
        name_part, _, version_part = reference.partition("@")
        if version_part != wanted or name_part != ORB_REF:
            problems.append(f"example {name} imports {reference!r} (expected {ORB_REF}@{wanted})")
    return problems


def collect(network: bool = False, tag: str = "", write_dist: bool = True, orb_src: Path = ORB_SRC) -> list[Section]:
    """Run every check; each section lists its problems.

    ``tag`` is the release tag RC011 compares the examples with; without one, it is the tag this
    version will be released under (``v`` + the helper's version), so RC011 always runs.
    """
    text = build_orb(orb_src)
    if write_dist:
        DIST_ORB.parent.mkdir(parents=True, exist_ok=True)
        DIST_ORB.write_text(text, encoding="utf-8")
    orb = load_text(text, "dist/orb.yml")
    version = helper_version(PACKAGE_DIR)
    tag = tag or f"v{version}"
    sections = [Section("pack", notes=[f"packed cb-helper {version} into {len(text)} bytes"])]
    sections.append(
        Section("schema (check-jsonschema vendor.circle-ci)", validate(text, orb, ORB_REF, project_configs()))
    )
    semantic = [str(f) for f in check_orb(orb, ORB_REF)]
    for name, config in project_configs().items():
        if isinstance(config, dict) and ORB_ALIAS in (config.get("orbs") or {}):
            semantic.extend(str(f) for f in check_usage(f".circleci/{name}", config, orb, ORB_REF))
    sections.append(Section("semantic checks", semantic))
    review = Section("review (RC001-RC012)")
    for rule in Review(orb_src, orb_alias=ORB_ALIAS, tag=tag, network=network).run():
        review.problems.extend(f"{rule.code} {rule.title} {p}" for p in rule.problems)
        if rule.skipped:
            review.notes.append(f"{rule.code} skipped: {rule.skipped}")
    sections.append(review)
    budget = f"footprint (run command <= {COMMAND_BUDGET} bytes, compiled job <= {JOB_BUDGET})"
    sections.append(Section(budget, budget_problems(orb)))
    scripts = sorted(p for p in (orb_src / "scripts").glob("*.sh") if p.name != Path(BUNDLE_PATH).name)
    sections.append(Section("shellcheck --shell=sh", shellcheck(scripts, extra_text=render_bundle(orb_src=orb_src))))
    lint = yamllint(orb_src, YAMLLINT_CONFIG)
    if CIRCLECI_DIR.is_dir():
        lint += yamllint(CIRCLECI_DIR, YAMLLINT_CONFIG)
    sections.append(Section("yamllint", lint))
    sections.append(Section("version", example_version_problems(orb, version)))
    return sections


def run_checks(network: bool = False, orb_src: Path = ORB_SRC) -> int:
    """Print a report; 0 when every check passes, 1 otherwise. Only the project's own orb goes to dist/orb.yml."""
    sections = collect(
        network=network, tag=os.environ.get("CIRCLE_TAG", ""), write_dist=orb_src == ORB_SRC, orb_src=orb_src
    )
    failed = 0
    for section in sections:
        status = "FAIL" if section.problems else "ok"
        print(f"{status:4}  {section.name}")
        for problem in section.problems:
            print(f"      {problem}")
        for note in section.notes:
            print(f"      ({note})")
        failed += bool(section.problems)
    print(f"{failed} check(s) failed" if failed else "every orb check passed", file=sys.stderr)
    return 1 if failed else 0
