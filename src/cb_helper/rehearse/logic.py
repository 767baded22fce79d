"""Compile-time logic statements (``when``/``unless`` conditions): and, or, not, equal, matches."""

from __future__ import annotations

import re
from typing import Any

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.templating import Scoped, truthy


def evaluate(statement: Any) -> bool:
    """Evaluate an already substituted logic statement."""
    if isinstance(statement, Scoped):
        return truthy(statement)
    if not isinstance(statement, dict):
        return truthy(statement)
    if len(statement) != 1:
        raise ConfigError(
            f"logic statement has keys {', '.join(map(str, statement))} "
            "(expected exactly one of and, or, not, equal, matches)"
        )
    [(operator, operand)] = statement.items()
    if operator in ("and", "or"):
        if not isinstance(operand, list):
            raise ConfigError(f"'{operator}:' takes a list of statements, not {operand!r}")
        results = (evaluate(item) for item in operand)
        return all(results) if operator == "and" else any(results)
    if operator == "not":
        return not evaluate(operand)
    if operator == "equal":
        if not isinstance(operand, list) or len(operand) < 2:
            raise ConfigError(f"'equal:' takes a list of at least two values, not {operand!r}")
        first = operand[0]
        return all(_same(first, other) for other in operand[1:])
    if operator == "matches":
        if not isinstance(operand, dict) or set(operand) != {"pattern", "value"}:
            raise ConfigError("'matches:' takes a mapping with exactly 'pattern' and 'value'")
        pattern, value = operand["pattern"], operand["value"]
        try:
            compiled = re.compile(str(pattern))
        except re.error as exc:
            raise ConfigError(f"'matches:' pattern {pattern!r} is not a valid regular expression ({exc})") from None
        return compiled.fullmatch(str(value)) is not None
    raise ConfigError(f"unknown logic operator {operator!r} (expected and, or, not, equal or matches)")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)
