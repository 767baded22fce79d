"""Pack an orb source tree into one orb YAML, exactly as the classic ``circleci orb pack`` (v0) does.

Only the portable subset is accepted (input that v0 and the v1 rewrite pack identically): ``@orb.yml``
with version/description/display/orbs, one file per component in ``commands/``, ``executors/``, ``jobs/``
and ``examples/``, no other YAML anywhere, whole-value ``<<include(path)>>`` in jobs/commands/executors.
Errors reuse the CLI's own wording where the CLI has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Optional

from tools.orbkit.emitter import Float32, Ordered, dump
from tools.orbkit.goyaml import PortabilityError, load_file

COMPONENT_DIRS = ("commands", "executors", "jobs", "examples")
ROOT_KEYS = ("version", "description", "display", "orbs")
INCLUDE_SECTIONS = ("commands", "executors", "jobs")
EXAMPLE_KEYS = ("description", "usage", "result")
USAGE_KEYS = ("version", "setup", "orbs", "jobs", "workflows")

# Go RE2: \s is [\t\n\f\r ], \w is [0-9A-Za-z_].
INCLUDE = re.compile(r"<<[\t\n\f\r ]*include\(([-0-9A-Za-z_/.]+)\)?[\t\n\f\r ]*>>")
_YAML_NAME = re.compile(r"[^.].*\.(yml|yaml)\Z")


class PackError(Exception):
    """Packing failed; ``str()`` is the line the CLI prints after ``Error: ``."""


def unexpected(message: str) -> PackError:
    return PackError(f"An unexpected error occurred: {message}")


def pack_orb(src_dir: Path, overlay: Optional[Mapping[str, str]] = None) -> str:
    """Return the packed orb, byte for byte what ``circleci orb pack SRC`` prints.

    ``overlay`` maps include paths (relative to ``src_dir``) to generated content that takes the place of
    a file on disk, so generated scripts need not be written into the source tree.
    """
    src_dir = Path(src_dir)
    if not (src_dir / "@orb.yml").is_file():
        raise PackError("@orb.yml file not found, are you sure this is the Orb root?")
    tree = _read_tree(src_dir)
    orb = _schema_filter(tree)
    for section in INCLUDE_SECTIONS:
        if section in orb:
            orb[section] = _inline_includes(orb[section], src_dir, overlay or {})
    # fmt.Println adds a newline after yaml.Marshal's own.
    return dump(orb) + "\n"


# --- walking the tree -----------------------------------------------------------------------------


def _portability(message: str) -> PackError:
    return PackError(f"outside the portable subset: {message}")


def _yaml_files(src_dir: Path) -> Iterator[Path]:
    for path in sorted(src_dir.rglob("*")):
        relative = path.relative_to(src_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and _YAML_NAME.match(path.name):
            yield path


def _go_type(value: Any) -> str:
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    return "string"


def _load_map(path: Path) -> Optional[dict[str, Any]]:
    try:
        data = load_file(path)
    except PortabilityError as exc:
        raise _portability(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise unexpected(str(exc)) from None
    if data is not None and not isinstance(data, dict):
        raise unexpected(
            f"expected a map, got a `{_go_type(data)}` which is not supported at this time for {str(path)!r}"
        )
    return data


def _read_tree(src_dir: Path) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in _yaml_files(src_dir):
        relative = path.relative_to(src_dir)
        parts = relative.parts
        if parts == ("@orb.yml",):
            root = _load_map(path) or {}
            extra = sorted(set(root) - set(ROOT_KEYS))
            if extra:
                raise _portability(
                    f"{relative} has top-level key(s) {', '.join(extra)} "
                    f"(expected only {', '.join(ROOT_KEYS)}; components go in their own directories)"
                )
            tree.update(root)
            continue
        if len(parts) != 2 or parts[0] not in COMPONENT_DIRS:
            raise _portability(
                f"YAML file {relative} is not a component file "
                f"(expected {{{','.join(COMPONENT_DIRS)}}}/<name>.yml directly under the source root)"
            )
        if path.name.startswith("@"):
            raise _portability(f"{relative}: '@' files inside a component directory are not portable")
        section: dict[str, Any] = tree.setdefault(parts[0], {})
        name = path.name.rsplit(".", 1)[0]
        if name in section:
            raise _portability(f"component {parts[0]}/{name} is defined by more than one file")
        section[name] = _load_map(path)
    return tree


# --- the OrbSchema filter -------------------------------------------------------------------------


def _schema_filter(tree: dict[str, Any]) -> Ordered:
    orb = Ordered()
    version = tree.get("version")
    if version is not None and version is not False:
        if isinstance(version, bool) or not isinstance(version, (int, float)):
            raise unexpected(f"version {version!r} in @orb.yml is not a number (expected version: 2.1)")
        if version:
            orb["version"] = Float32(version)
    description = tree.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise unexpected(f"description in @orb.yml is a {_go_type(description)} (expected a string)")
        if description:
            orb["description"] = description
    for key in ("display", "orbs", "commands", "executors", "jobs"):
        if key in tree:
            orb[key] = tree[key]
    examples = tree.get("examples")
    if examples:
        orb["examples"] = {name: _example(name, body) for name, body in examples.items()}
    return orb


def _example(name: str, body: Optional[dict[str, Any]]) -> Ordered:
    body = body or {}
    extra = sorted(set(body) - set(EXAMPLE_KEYS))
    if extra:
        raise _portability(f"example {name} has key(s) {', '.join(extra)} (expected {', '.join(EXAMPLE_KEYS)})")
    example = Ordered()
    description = body.get("description")
    if description:
        if not isinstance(description, str):
            raise unexpected(f"description of example {name} is not a string")
        example["description"] = description
    for part in ("usage", "result"):
        usage = _usage(name, part, body.get(part))
        if usage is not None:
            example[part] = usage
    return example


def _usage(name: str, part: str, body: Any) -> Optional[Ordered]:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise unexpected(f"{part} of example {name} is a {_go_type(body)} (expected a map)")
    extra = sorted(set(body) - set(USAGE_KEYS))
    if extra:
        raise _portability(
            f"example {name}: {part} key(s) {', '.join(extra)} are dropped by v0 and kept by v1 "
            f"(expected only {', '.join(USAGE_KEYS)})"
        )
    usage = Ordered()
    version = body.get("version")
    if version is not None:
        text = version if isinstance(version, str) else dump(version).strip()
        if isinstance(version, bool):
            text = "true" if version else "false"
        if text:
            usage["version"] = text
    setup = body.get("setup")
    if setup is not None and not isinstance(setup, bool):
        raise unexpected(f"setup of example {name} is not a boolean")
    if setup:
        usage["setup"] = True
    for key in ("orbs", "jobs"):
        if body.get(key) is not None:
            usage[key] = body[key]
    usage["workflows"] = body.get("workflows")
    if len(usage) == 1 and usage["workflows"] is None:
        return None
    return usage


# --- includes -------------------------------------------------------------------------------------


def _inline_includes(node: Any, src_dir: Path, overlay: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if INCLUDE.search(key):
                raise _portability(f"include statement in a mapping key: {key!r}")
            result[key] = _inline_includes(value, src_dir, overlay)
        return result
    if isinstance(node, list):
        return [_inline_includes(item, src_dir, overlay) for item in node]
    if isinstance(node, str) and node:
        return _include(node, src_dir, overlay)
    return node


def _include(value: str, src_dir: Path, overlay: Mapping[str, str]) -> str:
    matches = list(INCLUDE.finditer(value))
    if not matches:
        return value
    if len(matches) > 1:
        raise unexpected(f"multiple include statements: '{value}'")
    match = matches[0]
    if match.group(0) != value:
        raise unexpected(f"entire string must be include statement: '{value}'")
    relative = match.group(1)
    if relative in overlay:
        content = overlay[relative]
    else:
        target = src_dir / relative
        try:
            content = target.read_bytes().decode("utf-8")
        except OSError:
            raise unexpected(f"could not open {src_dir / relative} for inclusion") from None
        except UnicodeDecodeError:
            raise _portability(f"{relative} is not UTF-8 text") from None
    if "\\<<" in content:
        raise _portability(f"{relative} contains '\\<<', which packing would make ambiguous")
    return content.replace("<<", "\\<<")
