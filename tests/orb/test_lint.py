"""shellcheck (as POSIX sh) and yamllint pass on the orb, and catch what they should; dash and busybox sh
parse every orb script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

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


BASHISMS = {
    "array": "args=(a b)\n",
    "herestring": 'read -r x <<< "$1"\n',
    "double brackets": 'if [[ -n "$1" ]]; then :; fi\n',
    "substitution": 'echo "${1/#\\~/$HOME}"\n',
    "ansi-c quoting": "nl=$'\\n'\n",
}


@pytest.mark.parametrize("construct", list(BASHISMS))
def test_shellcheck_refuses_bash_only_syntax(tmp_path: Path, construct: str) -> None:
    script = tmp_path / "step.sh"
    script.write_text("#!/bin/sh\n" + BASHISMS[construct])
    assert any("In POSIX sh" in p for p in shellcheck([script])), construct


def test_dash_and_busybox_sh_parse_every_orb_script(posix_shell: str, tmp_path: Path) -> None:
    bundle = tmp_path / "helper_bundle.sh"
    bundle.write_text(render_bundle())
    scripts = [*sorted(p for p in (ORB_SRC / "scripts").glob("*.sh") if p.name != "helper_bundle.sh"), bundle]
    command = {"dash": ["dash", "-n"], "busybox": ["busybox", "sh", "-n"]}[posix_shell]
    for script in scripts:
        result = subprocess.run([*command, str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
    broken = tmp_path / "broken.sh"
    broken.write_text("if true; then\n")
    assert subprocess.run([*command, str(broken)], capture_output=True, check=False).returncode != 0


def test_orb_source_and_configs_pass_yamllint() -> None:
    assert yamllint(ORB_SRC, YAMLLINT_CONFIG) == []
    assert yamllint(REPO_ROOT / ".circleci", YAMLLINT_CONFIG) == []


def test_yamllint_reports_problems(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("a: 1\na: 2\n")
    assert any("duplication" in p for p in yamllint(tmp_path, YAMLLINT_CONFIG))
