"""The runner's modules import each other in one direction only: no cycle, not even for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "cb_helper" / "rehearse"


def _imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports, anywhere in it (``if TYPE_CHECKING:`` blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cb_helper.rehearse."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.ImportFrom) and node.module == "cb_helper.rehearse":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("cb_helper.rehearse."))
    return found - {path.stem}


def test_the_runner_modules_form_no_import_cycle() -> None:
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    assert {"engine", "pipelines", "runs", "spec"} <= set(graph)
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            cycles.append([*trail[trail.index(module) :], module])
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*trail, module])

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_the_project_spec_lives_below_its_users() -> None:
    assert _imports(PACKAGE / "spec.py") == set()
    for user in ("engine", "pipelines", "runs"):
        assert "spec" in _imports(PACKAGE / f"{user}.py")
        assert "engine" not in _imports(PACKAGE / f"{user}.py")
