"""Generate docs/orb-reference.md from the orb's source (``python -m tools.orb_docs [--check]``).

Every executor, command and job with its description and every parameter (type, default, description), and
every usage example with its description and the orb components it uses, read from ``orb/src``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from tools.generated import write_or_check

ROOT = Path(__file__).resolve().parent.parent
ORB_SRC = ROOT / "orb" / "src"
TARGET = ROOT / "docs" / "orb-reference.md"
KINDS = (("executors", "Executors"), ("commands", "Commands"), ("jobs", "Jobs"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data


def components(kind: str, src: Path = ORB_SRC) -> dict[str, dict[str, Any]]:
    """The components of one kind, by name (the file name), in name order."""
    return {path.stem: load(path) for path in sorted((src / kind).glob("*.yml"))}


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _cell(value: str) -> str:
    return value.replace("|", "\\|")


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return "required"
    value = spec["default"]
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif value == "":
        shown = '""'
    else:
        shown = str(value)
    return f"`{shown}`"


def _type(spec: dict[str, Any]) -> str:
    kind = str(spec.get("type", "string"))
    if kind == "enum":
        return "enum: " + ", ".join(f"`{value}`" for value in spec.get("enum") or [])
    return f"`{kind}`"


def parameter_table(parameters: dict[str, Any]) -> list[str]:
    if not parameters:
        return ["No parameters."]
    lines = ["| parameter | type | default | description |", "|---|---|---|---|"]
    for name, given in parameters.items():
        spec = given or {}
        description = _cell(_text(spec.get("description")))
        lines.append(f"| `{name}` | {_type(spec)} | {_cell(_default(spec))} | {description} |")
    return lines


def _uses(usage: object, orb: str = "circleback/") -> list[str]:
    """The orb's jobs, commands and executors an example's usage names, in order of first use."""
    found: list[str] = []

    def named(value: object) -> bool:  # "circleback/trigger", not the import "circleback/circleback@0.1"
        return isinstance(value, str) and value.startswith(orb) and "@" not in value and value not in found

    def visit(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if named(key):
                    found.append(key)
                if named(item):
                    found.append(str(item))
                visit(item)
        elif isinstance(value, list):
            for item in value:
                if named(item):
                    found.append(str(item))
                visit(item)

    visit(usage)
    return found


def render(src: Path = ORB_SRC) -> str:
    orb = load(src / "@orb.yml")
    parts = [
        "# The circleback orb: reference",
        "",
        "Generated from the orb's source (`orb/src`) by `python -m tools.orb_docs`; a test fails when it is stale.",
        "[orb.md](orb.md) explains how the pieces fit together.",
        "",
        _text(orb.get("description")),
    ]
    for kind, title in KINDS:
        found = components(kind, src)
        parts += ["", f"## {title}", ""]
        parts += [", ".join(f"[`{name}`](#{kind[:-1]}-{name.replace('_', '-')})" for name in found)]
        for name, body in found.items():
            parts += ["", f'<a id="{kind[:-1]}-{name.replace("_", "-")}"></a>', ""]
            parts += [f"### {kind[:-1]} `{name}`", "", _text(body.get("description")), ""]
            parts += parameter_table(body.get("parameters") or {})
    examples = components("examples", src)
    parts += ["", "## Examples", "", f"The orb has {len(examples)} usage examples, each in `orb/src/examples`:"]
    for name, body in examples.items():
        uses = ", ".join(f"`{used}`" for used in _uses(body.get("usage")))
        parts += ["", f"### `{name}`", "", _text(body.get("description")), ""]
        parts += [f"Source: [orb/src/examples/{name}.yml](../orb/src/examples/{name}.yml). Uses: {uses or 'nothing'}."]
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, render(), "tools.orb_docs", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
