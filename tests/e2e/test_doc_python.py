"""docs/rehearse.md's Python example runs as shown, with the two configs of docs/orb.md, and each of its closing
expressions says what its comment says (the check's own step found by its name)."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSING_TESTS = "#!/usr/bin/env bash\necho 'all tests pass'\n"


def _block(document: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", document.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def test_the_python_example_runs_as_shown(packed_orb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = [b for b in _block(ROOT / "docs" / "orb.md", "yaml") if "version" in (yaml.safe_load(b) or {})]
    a, b = configs[0], configs[1]
    assert "project_slug" in a
    assert "project_slug" not in b
    for name, config in (("a", a), ("b", b)):
        (tmp_path / name / ".circleci").mkdir(parents=True)
        (tmp_path / name / ".circleci" / "config.yml").write_text(config, encoding="utf-8")
    (tmp_path / "b" / "run-tests.sh").write_text(PASSING_TESTS, encoding="utf-8")
    (tmp_path / "b" / "run-tests.sh").chmod(0o755)
    (tmp_path / "dist").mkdir()
    shutil.copy(packed_orb, tmp_path / "dist" / "orb.yml")
    monkeypatch.chdir(tmp_path)

    [example] = _block(ROOT / "docs" / "rehearse.md", "python")
    tree = ast.parse(example)
    namespace: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Expr):
            shown[ast.get_source_segment(example, node) or ""] = eval(
                compile(ast.Expression(node.value), "rehearse.md", "eval"), namespace
            )
        else:
            exec(compile(ast.Module([node], []), "rehearse.md", "exec"), namespace)
    values = list(shown.values())
    assert values[0] == "settled"
    assert values[1] == "success"
    assert "released: gh/acme/project-b circled back: success" in values[2]
    assert values[3] == 0.0
    assert '.step("Check the downstream pipeline").output' in list(shown)[2]
