"""shellcheck and yamllint pass on the orb, and catch what they should."""

from __future__ import annotations

from pathlib import Path

from tools.orbkit.bundle import ORB_SRC, REPO_ROOT, render_bundle
from tools.orbkit.check import YAMLLINT_CONFIG
from tools.orbkit.lint import shellcheck, yamllint


def test_scripts_and_generated_bundle_are_shellcheck_clean() -> None:
    scripts = sorted(p for p in (ORB_SRC / "scripts").glob("*.sh") if p.name != "helper_bundle.sh")
    assert len(scripts) >= 4
    assert shellcheck(scripts, extra_text=render_bundle()) == []


def test_shellcheck_reports_the_seed_defects(tmp_path: Path) -> None:
    script = tmp_path / "approve.sh"
    script.write_text('#!/bin/bash\nif ! [-z "$ID"]\nthen\n  echo $ID\nfi\n')
    problems = shellcheck([script])
    assert any("SC1035" in p or "SC2086" in p for p in problems), problems


def test_orb_source_and_configs_pass_yamllint() -> None:
    assert yamllint(ORB_SRC, YAMLLINT_CONFIG) == []
    assert yamllint(REPO_ROOT / ".circleci", YAMLLINT_CONFIG) == []


def test_yamllint_reports_problems(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("a: 1\na: 2\n")
    assert any("duplication" in p for p in yamllint(tmp_path, YAMLLINT_CONFIG))
