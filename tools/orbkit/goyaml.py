"""Read YAML the way gopkg.in/yaml.v3 does, refusing what v0 and v1 of the CircleCI CLI read differently.

PyYAML parses the structure; plain scalars are then resolved with yaml.v3's rules (YAML 1.2 core:
``true``/``false``, decimal integers, plain floats, ``null``/``~``/empty). Scalars that yaml.v3 reads in a
surprising way (octal, hex, underscores, timestamps, ``.inf``) and the YAML 1.1 words ``yes``/``no``/
``on``/``off`` (a string to v0, a boolean to v1) are refused with :class:`PortabilityError`.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"

#: Unquoted words that v1 turns into booleans while v0 keeps them strings.
V1_BOOLEAN_WORDS = frozenset({"yes", "Yes", "YES", "on", "On", "ON", "no", "No", "NO", "off", "Off", "OFF"})
#: yaml.v3 quotes these strings when it writes them, for the sake of YAML 1.1 readers.
OLD_BOOLEANS = V1_BOOLEAN_WORDS | {"y", "Y", "n", "N"}

_RESOLVE_MAP: dict[str, Any] = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
}
_SPECIAL_FLOATS = frozenset(
    {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"}
)
_DECIMAL_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+\Z")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_TIMESTAMP_START = re.compile(r"[0-9]{4}-")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_RESOLVE_HINT = frozenset("+-.0123456789yYnNtTfFoO~")


class PortabilityError(ValueError):
    """The input is valid YAML, but the packers (or YAML readers) disagree about what it means."""


class _Loader(yaml.SafeLoader):
    """A composer with no implicit resolvers: every plain scalar arrives as a string."""


_Loader.yaml_implicit_resolvers = {}


def load_file(path: Path) -> Any:
    """Parse one YAML file into plain Python data (``None`` for an empty file)."""
    text = path.read_text(encoding="utf-8")
    return load_text(text, str(path))


def load_text(text: str, name: str = "<string>") -> Any:
    """Parse YAML text into plain Python data with yaml.v3's scalar rules."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if not nodes:
        return None
    if len(nodes) > 1:
        raise PortabilityError(f"{name}: holds {len(nodes)} YAML documents (expected one)")
    return _build(nodes[0], name)


def _where(name: str, node: Node) -> str:
    return f"{name}:{node.start_mark.line + 1}"


def _build(node: Node, name: str) -> Any:
    if isinstance(node, ScalarNode):
        if node.tag != STR_TAG:
            raise PortabilityError(f"{_where(name, node)}: explicit tag {node.tag!r} is not supported")
        if node.style is None:
            return resolve_plain(node.value, _where(name, node))
        return node.value
    if isinstance(node, SequenceNode):
        if node.tag != SEQ_TAG:
            raise PortabilityError(f"{_where(name, node)}: explicit tag {node.tag!r} is not supported")
        return [_build(item, name) for item in node.value]
    if isinstance(node, MappingNode):
        return _build_mapping(node, name)
    raise PortabilityError(f"{_where(name, node)}: unsupported YAML node")  # pragma: no cover


def _build_mapping(node: MappingNode, name: str) -> dict[str, Any]:
    if node.tag != MAP_TAG:
        raise PortabilityError(f"{_where(name, node)}: explicit tag {node.tag!r} is not supported")
    result: dict[str, Any] = {}
    lines: dict[str, int] = {}
    merged: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.style is None and key_node.value == "<<":
            for source in _merge_sources(value_node, name):
                for key, value in source.items():
                    merged.setdefault(key, value)
            continue
        key = _build(key_node, name)
        if not isinstance(key, str):
            raise PortabilityError(f"{_where(name, key_node)}: mapping key {key!r} is not a string")
        if key in result:
            raise ValueError(f"{_where(name, key_node)}: mapping key {key!r} already defined at line {lines[key]}")
        lines[key] = key_node.start_mark.line + 1
        result[key] = _build(value_node, name)
    for key, value in merged.items():
        result.setdefault(key, value)
    return result


def _merge_sources(node: Node, name: str) -> list[dict[str, Any]]:
    value = _build(node, name)
    sources = value if isinstance(value, list) else [value]
    if not all(isinstance(s, dict) for s in sources):
        raise ValueError(f"{_where(name, node)}: a merge key '<<' needs a mapping or a list of mappings")
    return sources


def resolve_plain(text: str, where: str = "") -> Any:
    """Resolve an unquoted scalar as yaml.v3 does, refusing forms that are not portable."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    if text in V1_BOOLEAN_WORDS:
        raise PortabilityError(
            f"{where}: unquoted {text!r} is a string to circleci orb pack v0 but a boolean to v1 "
            "(write true/false, or quote it)"
        )
    if text in _SPECIAL_FLOATS or text in ("-0", "-0.0"):
        raise PortabilityError(f"{where}: {text!r} is a special float (quote it)")
    if not text or text[0] not in "+-.0123456789":
        return text
    if _DECIMAL_INT.match(text):
        return int(text)
    if _PLAIN_FLOAT.match(text):
        return float(text)
    if _looks_non_string(text):
        raise PortabilityError(
            f"{where}: {text!r} is read as a number or timestamp in a way that differs between YAML readers (quote it)"
        )
    return text


def _looks_non_string(text: str) -> bool:
    """True when yaml.v3 would resolve ``text`` to something other than a string."""
    if text in _RESOLVE_MAP or text in _SPECIAL_FLOATS or text in ("-0", "-0.0"):
        return True
    if not text or text[0] not in _RESOLVE_HINT:
        return False
    if text[0] == ".":
        return _go_parse_float(text)
    if text[0] not in "+-0123456789":
        return False
    if _TIMESTAMP_START.match(text) and _is_timestamp(text):
        return True
    plain = text.replace("_", "")
    if _GO_INT.match(plain):
        return True
    return bool(_YAML_STYLE_FLOAT.match(plain))


def _go_parse_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "_" not in text


_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?\Z"
)


def _is_timestamp(text: str) -> bool:
    return bool(_TIMESTAMP.match(text))


def resolves_to_string(text: str) -> bool:
    """Whether yaml.v3 may write ``text`` unquoted (it reads back as the same string)."""
    if _looks_non_string(text):
        return False
    return not (text in OLD_BOOLEANS or (_BASE60.match(text) and ":" in text))


def format_float(value: float, bits: int = 64) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, bits)`` with yaml.v3's names for the specials."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    digits, exponent = _shortest_digits(value, bits)
    negative = math.copysign(1.0, value) < 0
    sign = "-" if negative else ""
    if digits == "0":
        return sign + "0"
    exp = exponent - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exponent <= 0:
        return f"{sign}0.{'0' * -exponent}{digits}"
    if exponent >= len(digits):
        return sign + digits + "0" * (exponent - len(digits))
    return f"{sign}{digits[:exponent]}.{digits[exponent:]}"


def _shortest_digits(value: float, bits: int) -> tuple[str, int]:
    """Shortest decimal digits that read back as ``value`` and the decimal point position."""
    if bits == 32:
        target = struct.unpack("f", struct.pack("f", value))[0]
        for precision in range(1, 10):
            text = f"{abs(target):.{precision}e}"
            if struct.unpack("f", struct.pack("f", float(text)))[0] == abs(target):
                break
    else:
        text = f"{abs(value):.17e}"
        for precision in range(0, 18):
            candidate = f"{abs(value):.{precision}e}"
            if float(candidate) == abs(value):
                text = candidate
                break
    mantissa, _, exp_text = text.partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    return digits, int(exp_text) + 1
