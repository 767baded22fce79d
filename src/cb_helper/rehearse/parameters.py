"""Parameter declarations of jobs, commands, executors and pipelines; type checks and binding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from cb_helper.rehearse.errors import ConfigError, UnexpectedArguments
from cb_helper.rehearse.templating import Scoped

COMPONENT_TYPES = frozenset({"string", "boolean", "integer", "enum", "executor", "steps", "env_var_name"})
PIPELINE_TYPES = frozenset({"string", "boolean", "integer", "enum"})
_DECLARATION_KEYS = frozenset({"type", "default", "description", "enum"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Words the config compiler reads as booleans (YAML 1.1), although this loader keeps them as text.
_BOOLEAN_WORDS = {
    **dict.fromkeys(["yes", "Yes", "YES", "on", "On", "ON", "y", "Y"], True),
    **dict.fromkeys(["no", "No", "NO", "off", "Off", "OFF", "n", "N"], False),
}


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()


@dataclass(frozen=True)
class Declaration:
    """One declared parameter."""

    name: str
    type: str
    default: Any = REQUIRED
    enum: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def parse_declarations(raw: Any, *, pipeline: bool = False) -> dict[str, Declaration]:
    """Read a ``parameters:`` block; every problem is a :class:`ConfigError` naming the parameter."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"parameters must be a mapping of name to declaration, not {_type_name(raw)}")
    allowed = PIPELINE_TYPES if pipeline else COMPONENT_TYPES
    declarations: dict[str, Declaration] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"parameter {name!r} must be a mapping with a type, not {_type_name(spec)}")
        unknown = sorted(set(spec) - _DECLARATION_KEYS)
        if unknown:
            raise ConfigError(f"parameter {name!r} has unknown key(s) {', '.join(map(str, unknown))}")
        kind = spec.get("type")
        if kind not in allowed:
            raise ConfigError(f"parameter {name!r} has type {kind!r} (expected one of {', '.join(sorted(allowed))})")
        enum: tuple[str, ...] = ()
        if kind == "enum":
            values = spec.get("enum")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"enum parameter {name!r} needs 'enum:' with a non-empty list of strings")
            enum = tuple(values)
        elif "enum" in spec:
            raise ConfigError(f"parameter {name!r} has 'enum:' but its type is {kind!r}")
        declaration = Declaration(str(name), str(kind), REQUIRED, enum)
        if "default" in spec:
            default = spec["default"]
            if kind == "steps" and default is None:
                default = []
            declaration = Declaration(str(name), str(kind), check_value(declaration, default), enum)
        declarations[str(name)] = declaration
    return declarations


def check_value(declaration: Declaration, value: Any) -> Any:
    """The value in its canonical form, or a type error naming the argument."""
    kind = declaration.type
    if isinstance(value, Scoped):
        if kind in ("steps", "executor"):
            return value
        value = value.value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[value]
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind in ("string", "env_var_name", "enum"):
        if isinstance(value, str):
            if kind == "env_var_name" and not _ENV_NAME.match(value):
                raise ConfigError(
                    f"argument {declaration.name!r} is {value!r}, not an environment variable name "
                    "(expected letters, digits and underscores, not starting with a digit)"
                )
            if kind == "enum" and value not in declaration.enum:
                raise ConfigError(
                    f"argument {declaration.name!r} is {value!r} (expected one of {', '.join(declaration.enum)})"
                )
            return value
    elif kind == "steps":
        if isinstance(value, list):
            return value
    elif kind == "executor" and (isinstance(value, str) or (isinstance(value, dict) and "name" in value)):
        return value
    raise ConfigError(
        f"Type error for argument {declaration.name}: expected type: {kind}, "
        f"actual value: {_clip(value)} (type {_type_name(value)})"
    )


def bind(
    declarations: Mapping[str, Declaration],
    arguments: Mapping[str, Any],
    *,
    caller: Any = None,
    callee: Any = None,
) -> dict[str, Any]:
    """Check the arguments of one call and fill in defaults.

    Steps and executors are wrapped in :class:`Scoped` with the namespace they were written in: the
    caller's for arguments, the callee's for defaults.
    """
    unexpected = sorted(str(key) for key in arguments if key not in declarations)
    if unexpected:
        raise ConfigError(f"Unexpected argument(s): {', '.join(unexpected)}")
    missing = sorted(name for name, d in declarations.items() if d.required and name not in arguments)
    if missing:
        raise ConfigError(f"Missing required argument(s): {', '.join(missing)}")
    bound: dict[str, Any] = {}
    for name, declaration in declarations.items():
        given = name in arguments
        value = check_value(declaration, arguments[name]) if given else declaration.default
        if declaration.type in ("steps", "executor") and not isinstance(value, Scoped):
            value = Scoped(value, caller if given else callee)
        bound[name] = value
    return bound


def bind_pipeline(declarations: Mapping[str, Declaration], given: Mapping[str, Any]) -> dict[str, Any]:
    """Pipeline parameters: undeclared ones are CircleCI's ``Unexpected argument(s)`` error."""
    unexpected = sorted(str(key) for key in given if key not in declarations)
    if unexpected:
        raise UnexpectedArguments(f"Unexpected argument(s): {', '.join(unexpected)}")
    bound: dict[str, Any] = {}
    for name, declaration in declarations.items():
        if name in given:
            bound[name] = check_value(declaration, given[name])
        elif declaration.required:
            raise ConfigError(f"Missing required argument(s): {name} (a pipeline parameter without default)")
        else:
            bound[name] = declaration.default
    return bound


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if value is None:
        return "null"
    return type(value).__name__


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def optional_str(value: Any, what: str) -> Optional[str]:
    """A string field that may be absent; anything else is a :class:`ConfigError`."""
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{what} is {_clip(value)} (expected text)")
