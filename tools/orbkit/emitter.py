"""Write YAML byte-for-byte as gopkg.in/yaml.v3 ``Marshal`` does (4-space indent, v3.0.1).

A port of the parts of yaml.v3's emitter that plain data needs: block mappings and sequences,
``{}``/``[]`` for empty ones, and the scalar style choice (plain, single-quoted, double-quoted,
literal). Map keys are sorted with yaml.v3's "natural" order. :class:`Ordered` keeps a fixed key
order, as a Go struct does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cmp_to_key
from typing import Any

from tools.orbkit.goyaml import format_float, resolves_to_string

BEST_INDENT = 4
_SEQ_INDICATOR = 2
_BREAKS = "\r\n\x85\u2028\u2029"

PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"


class Ordered(dict[str, Any]):
    """A mapping written in insertion order (a Go struct), not sorted (a Go map)."""


class Float32(float):
    """A float written with float32 precision (the packer's ``version`` field)."""


def dump(data: Any) -> str:
    """Return ``yaml.Marshal(data)``: one document, implicit start and end."""
    emitter = _Emitter()
    emitter.node(data, root=True)
    emitter.document_end()
    return "".join(emitter.out)


# --- key order ------------------------------------------------------------------------------------


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def key_less(a: str, b: str) -> bool:
    """yaml.v3's ``keyList.Less`` for two string keys."""
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = _is_digit(ca)
            continue
        al, bl = _is_letter(ca), _is_letter(cb)
        if al and bl:
            return ca < cb
        if al or bl:
            return al if digits else bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _compare(a: str, b: str) -> int:
    return -1 if key_less(a, b) else (1 if key_less(b, a) else 0)


def sorted_keys(keys: Iterable[str]) -> list[str]:
    """Keys in the order yaml.v3 writes a Go map's keys."""
    return sorted(keys, key=cmp_to_key(_compare))


# --- scalar analysis ------------------------------------------------------------------------------


def _printable(ch: str) -> bool:
    cp = ord(ch)
    return cp == 0x0A or 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xD7FF or (0xE000 <= cp <= 0xFFFD and cp != 0xFEFF)


class _Analysis:
    __slots__ = ("block", "block_plain", "multiline", "single")

    def __init__(self, value: str) -> None:
        self.multiline = False
        self.block_plain = True
        self.single = True
        self.block = True
        if not value:
            self.block = False
            return
        block_indicators = value.startswith(("---", "..."))
        line_breaks = special = tabs = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = previous_space = previous_break = False
        preceded_by_ws = True
        n = len(value)
        for i, ch in enumerate(value):
            followed_by_ws = i + 1 >= n or value[i + 1] in " \t"
            if i == 0:
                if ch in "#,[]{}&*!|>'\"%@`" or (ch in "?:-" and followed_by_ws):
                    block_indicators = True
            elif (ch == ":" and followed_by_ws) or (ch == "#" and preceded_by_ws):
                block_indicators = True
            if ch == "\t":
                tabs = True
            elif not _printable(ch):
                special = True
            if ch == " ":
                leading_space = leading_space or i == 0
                trailing_space = trailing_space or i == n - 1
                break_space = break_space or previous_break
                previous_space, previous_break = True, False
            elif ch in _BREAKS:
                line_breaks = True
                leading_break = leading_break or i == 0
                trailing_break = trailing_break or i == n - 1
                space_break = space_break or previous_space
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_ws = ch in " \t\x00" or ch in _BREAKS
        self.multiline = line_breaks
        if leading_space or leading_break or trailing_space or trailing_break:
            self.block_plain = False
        if trailing_space:
            self.block = False
        if break_space:
            self.block_plain = self.single = False
        if space_break or tabs or special:
            self.block_plain = self.single = False
        if space_break or special:
            self.block = False
        if line_breaks or block_indicators:
            self.block_plain = False


# --- the emitter ----------------------------------------------------------------------------------

_MAP_KEY, _SEQ_ITEM, _OTHER = "mapping-key", "sequence-item", "other"


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.indent = -1
        self.whitespace = True
        self.indention = True
        self.top = _OTHER  # the state the next increase of indentation sees on top of the stack

    # low-level writers
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool) -> int:
        """yaml.v3's ``yaml_emitter_increase_indent`` (never indentless: v3 indents a sequence under its key)."""
        saved = self.indent
        if self.indent < 0:
            self.indent = BEST_INDENT if flow else 0
        elif self.top == _SEQ_ITEM:
            self.indent += _SEQ_INDICATOR  # the first indent inside a sequence item just skips "- "
        else:
            self.indent = BEST_INDENT * ((self.indent + BEST_INDENT) // BEST_INDENT)
        return saved

    # nodes
    def node(self, value: Any, root: bool = False, simple_key: bool = False) -> None:
        if isinstance(value, dict):
            if not value:
                self.empty_flow("{", "}")
            else:
                self.block_mapping(value)
        elif isinstance(value, list):
            if not value:
                self.empty_flow("[", "]")
            else:
                self.block_sequence(value)
        else:
            self.scalar(value, root=root, simple_key=simple_key)

    def empty_flow(self, start: str, end: str) -> None:
        self.indicator(start, True, True, False)
        self.indicator(end, False, False, False)

    def block_mapping(self, mapping: dict[str, Any]) -> None:
        saved = self.increase_indent(False)
        keys = list(mapping) if isinstance(mapping, Ordered) else sorted_keys(mapping)
        for key in keys:
            self.write_indent()
            if not isinstance(key, str) or "\n" in key or len(key) > 128:
                raise ValueError(f"mapping key {key!r} cannot be written as a simple key")
            self.top = _OTHER
            self.scalar(key, simple_key=True)
            self.indicator(":", False, False, False)
            self.top = _MAP_KEY
            self.node(mapping[key])
        self.indent = saved

    def block_sequence(self, items: list[Any]) -> None:
        saved = self.increase_indent(False)
        for item in items:
            self.write_indent()
            self.indicator("-", True, False, True)
            self.top = _SEQ_ITEM
            self.node(item)
        self.indent = saved

    def scalar(self, value: Any, root: bool = False, simple_key: bool = False) -> None:
        text, style = _scalar_text(value)
        analysis = _Analysis(text)
        if simple_key and analysis.multiline:
            style = DOUBLE
        if style == PLAIN and (not analysis.block_plain or (not text and simple_key)):
            style = SINGLE
        if style == SINGLE and not analysis.single:
            style = DOUBLE
        if style == LITERAL and (not analysis.block or simple_key):
            style = DOUBLE
        saved = self.increase_indent(True)
        if style == PLAIN:
            self.write_plain(text)
        elif style == SINGLE:
            self.write_single(text)
        elif style == DOUBLE:
            self.write_double(text)
        else:
            self.write_literal(text)
        self.indent = saved

    def write_plain(self, text: str) -> None:
        if text and not self.whitespace:
            self.put(" ")
        self.put(text)
        if text:
            self.whitespace = False
        self.indention = False

    def write_single(self, text: str) -> None:
        self.indicator("'", True, False, False)
        self.put(text.replace("'", "''"))
        self.indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def write_double(self, text: str) -> None:
        self.indicator('"', True, False, False)
        self.put("".join(_escape(ch) for ch in text))
        self.indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, text: str) -> None:
        self.indicator("|", True, False, False)
        if text and (text[0] == " " or text[0] in _BREAKS):
            self.indicator(str(BEST_INDENT), False, False, False)
        chomp = _chomp_hint(text)
        if chomp:
            self.indicator(chomp, False, False, False)
        self.whitespace = True
        breaks = True
        for ch in text:
            if ch in _BREAKS:
                if ch == "\n":
                    self.put_break()
                else:
                    self.out.append(ch)
                    self.column = 0
                    self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False

    def document_end(self) -> None:
        self.indent = -1
        self.write_indent()


def _chomp_hint(text: str) -> str:
    if not text or text[-1] not in _BREAKS:
        return "-"
    if len(text) == 1 or text[-2] in _BREAKS:
        return "+"
    return ""


_ESCAPES = {
    "\x00": "0",
    "\x07": "a",
    "\x08": "b",
    "\t": "t",
    "\n": "n",
    "\x0b": "v",
    "\x0c": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _escape(ch: str) -> str:
    if _printable(ch) and ch not in _BREAKS and ch not in '"\\' and ch != "\ufeff":
        return ch
    if ch in _ESCAPES:
        return "\\" + _ESCAPES[ch]
    cp = ord(ch)
    if cp <= 0xFF:
        return f"\\x{cp:02X}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04X}"
    return f"\\U{cp:08X}"


def _scalar_text(value: Any) -> tuple[str, str]:
    if value is None:
        return "null", PLAIN
    if isinstance(value, bool):
        return ("true" if value else "false"), PLAIN
    if isinstance(value, int):
        return str(value), PLAIN
    if isinstance(value, Float32):
        return format_float(value, 32), PLAIN
    if isinstance(value, float):
        return format_float(value), PLAIN
    if isinstance(value, str):
        if "\n" in value:
            return value, LITERAL
        return value, (PLAIN if resolves_to_string(value) else DOUBLE)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")
