"""``<< ... >>`` substitution: parameters, pipeline values, mustache sections and ``\\<<`` un-escaping.

Each component body is substituted once, in its own scope; inserted values are never scanned again.
A string that is exactly one reference takes the value with its type (a boolean, an integer, a list
of steps); a reference inside longer text is rendered as text (booleans as ``true``/``false``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cb_helper.rehearse.errors import ConfigError

_NAME = r"[A-Za-z_][\w.-]*"
_REFERENCE = re.compile(rf"(?<!\\)<<\s*({_NAME})\s*>>")
_SECTION = re.compile(rf"(?<!\\)<<([#^])\s*({_NAME})\s*>>(.*?)(?<!\\)<</\s*\2\s*>>", re.DOTALL)
_INCLUDE = re.compile(r"(?<!\\)<<\s*include\(")


@dataclass(frozen=True)
class Scoped:
    """A value that carries the namespace it was written in (steps and executors passed as arguments)."""

    value: Any
    namespace: Any


@dataclass(frozen=True)
class Scope:
    """What ``<< ... >>`` may refer to in one component body."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    pipeline: Mapping[str, Any] = field(default_factory=dict)
    pipeline_parameters: Mapping[str, Any] = field(default_factory=dict)
    in_orb: bool = False

    def resolve(self, name: str) -> Any:
        """The value ``name`` stands for, or a :class:`ConfigError` naming it."""
        head, _, rest = name.partition(".")
        if head == "parameters":
            if rest in self.parameters:
                return self.parameters[rest]
            raise ConfigError(f"Arguments referenced without declared parameters: {rest}")
        if head == "pipeline" and rest.startswith("parameters."):
            key = rest[len("parameters.") :]
            if self.in_orb:
                raise ConfigError(
                    f"<< {name} >> is used inside an orb, where pipeline parameters are not in scope "
                    "(expected the value to be passed to the orb component as a parameter)"
                )
            if key in self.pipeline_parameters:
                return self.pipeline_parameters[key]
            raise ConfigError(f"Unknown variable(s): {name} (no pipeline parameter {key!r} is declared)")
        if head == "pipeline" and rest in self.pipeline:
            return self.pipeline[rest]
        if name == "pipeline.trigger_source":
            raise ConfigError(
                "Unknown variable(s): pipeline.trigger_source (its support on CircleCI cloud ended on 2026-08-01: "
                "use pipeline.trigger.type, whose value is schedule for a scheduled pipeline; CircleCI Server keeps "
                "pipeline.trigger_source)"
            )
        raise ConfigError(f"Unknown variable(s): {name}")


def truthy(value: Any) -> bool:
    """CircleCI's truthiness: false, null, 0, NaN, empty strings and empty lists are false."""
    if isinstance(value, Scoped):
        return truthy(value.value)
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def as_text(value: Any, name: str) -> str:
    """Render a value inserted into longer text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(f"<< {name} >> holds a {_kind(value)} and cannot be used inside text")


def _kind(value: Any) -> str:
    if isinstance(value, Scoped):
        return _kind(value.value)
    if isinstance(value, list):
        return "list of steps"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def substitute_text(text: str, scope: Scope) -> Any:
    """Substitute one string; a string that is exactly one reference keeps the value's type."""
    if "<<" not in text:
        return text
    if _INCLUDE.search(text):
        raise ConfigError(
            f"{_clip(text)!r} uses <<include(...)>>, which only orb sources may use "
            "(expected a packed orb, where includes are already inlined)"
        )
    whole = _REFERENCE.fullmatch(text)
    if whole:
        return scope.resolve(whole.group(1))

    def section(match: re.Match[str]) -> str:
        wanted = truthy(scope.resolve(match.group(2)))
        keep = wanted if match.group(1) == "#" else not wanted
        return match.group(3) if keep else ""

    previous = None
    while previous != text:
        previous = text
        text = _SECTION.sub(section, text)
    return _REFERENCE.sub(lambda m: as_text(scope.resolve(m.group(1)), m.group(1)), text)


def substitute(node: Any, scope: Scope) -> Any:
    """Substitute every string in a YAML tree (keys included); :class:`Scoped` values stay as they are."""
    if isinstance(node, str):
        return substitute_text(node, scope)
    if isinstance(node, list):
        return [substitute(item, scope) for item in node]
    if isinstance(node, dict):
        result: dict[Any, Any] = {}
        for key, value in node.items():
            new_key = substitute_text(key, scope) if isinstance(key, str) else key
            if not isinstance(new_key, (str, int, bool)):
                raise ConfigError(f"key {_clip(str(key))!r} does not render to text")
            result[new_key] = substitute(value, scope)
        return result
    return node


def unescape(text: str) -> str:
    """Turn the packer's ``\\<<`` back into a literal ``<<`` (done once, after all substitution)."""
    return text.replace("\\<<", "<<")


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
