"""Outputs: the values B hands back to A (an image digest, a version, a report URL).

B's jobs write a file: a JSON object of string, number or boolean values, or ``KEY=VALUE`` lines. B's
circle-back validates it (:func:`read_outputs`) and puts the result in its receipt, which it stores as an
artifact before it approves A; the values also go to :data:`OUTPUTS_ARTIFACT` for people and other tools.
Outputs that are missing or invalid never stop the circle-back: the receipt says why there are none.

A's check reads them back from the receipt and writes them for A's later steps (:func:`write_outputs`): a JSON
file, and a ``.env`` file of shell-quoted ``PREFIX + KEY`` assignments.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

#: Where B's circle-back stores the validated values (beside the receipt, which carries them too).
OUTPUTS_ARTIFACT = "circleback/outputs.json"
#: The largest outputs file accepted, in bytes.
MAX_OUTPUTS_BYTES = 64 * 1024
#: The most values accepted.
MAX_OUTPUTS = 100
#: The prefix of the environment variables A's steps receive (B cannot overwrite PATH or the like).
DEFAULT_ENV_PREFIX = "CIRCLEBACK_"

Value = Union[str, int, float, bool]
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Outputs:
    """What B sent: ``status`` is ``valid``, ``invalid``, ``missing`` (the file was not there) or ``none``."""

    status: str
    values: dict[str, Value] = field(default_factory=dict)
    error: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "values": dict(self.values)}
        if self.error is not None:
            data["error"] = self.error
        return data

    def describe(self, project: str) -> str:
        """One line for A's log."""
        if self.status == "valid":
            keys = ", ".join(self.values) or "none"
            return f"{project} sent {len(self.values)} output(s): {keys}"
        if self.status == "none":
            return f"{project} sent no outputs" + (f" ({self.error})" if self.error else "")
        return f"{project} sent no valid outputs: {self.error}"


def read_outputs(path: Optional[str]) -> Outputs:
    """Validate B's outputs file; never raises: what is wrong is the result's ``error``."""
    if path is None or not path.strip():
        return Outputs("none")
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if size > MAX_OUTPUTS_BYTES:
            return Outputs("invalid", error=f"{path} is {size} bytes, over the cap of {MAX_OUTPUTS_BYTES}")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Outputs("missing", error=f"{path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return Outputs("invalid", error=f"{path} cannot be read ({reason})")
    try:
        values = parse_outputs(text)
    except ValueError as exc:
        return Outputs("invalid", error=f"{path}: {exc}")
    return Outputs("valid", values)


def parse_outputs(text: str) -> dict[str, Value]:
    """The values of an outputs file (JSON object or ``KEY=VALUE`` lines); :class:`ValueError` says what is wrong."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        items = list(data.items())
    else:
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"line {number} is not KEY=VALUE")
            items.append((key.strip(), value))
    if len(items) > MAX_OUTPUTS:
        raise ValueError(f"{len(items)} values, over the cap of {MAX_OUTPUTS}")
    values: dict[str, Value] = {}
    for key, value in items:
        if not _KEY.match(key):
            raise ValueError(f"key {key!r} is not usable as a shell variable name (letters, digits, _)")
        if key in values:
            raise ValueError(f"key {key!r} is given twice")
        if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
            values[key] = value
        elif isinstance(value, str):
            if _CONTROL.search(value):
                raise ValueError(f"the value of {key!r} holds a control character (a newline?)")
            values[key] = value
        else:
            kind = {dict: "an object", list: "an array", type(None): "null"}.get(type(value), type(value).__name__)
            raise ValueError(f"the value of {key!r} is {kind}, not a string, number or boolean")
    return values


def values_from(data: object) -> Outputs:
    """The outputs a receipt carries (as :meth:`Outputs.as_dict` wrote them), checked again: B is not trusted."""
    if not isinstance(data, dict):
        return Outputs("none")
    status = data.get("status")
    if status != "valid":
        error = data.get("error")
        return Outputs(str(status) if status in ("invalid", "missing") else "none", error=str(error or "") or None)
    values = data.get("values")
    try:
        if not isinstance(values, dict) or len(values) > MAX_OUTPUTS:
            raise ValueError("the receipt's values are not an object of at most 100 values")
        checked = parse_outputs(json.dumps(values))
    except ValueError as exc:
        return Outputs("invalid", error=f"the receipt's outputs are invalid: {exc}")
    return Outputs("valid", checked)


def env_text(values: dict[str, Value], prefix: str) -> str:
    """``PREFIX_KEY='value'`` lines, readable by ``source`` and by .env readers."""
    return "".join(f"{prefix}{key}={shlex.quote(as_text(value))}\n" for key, value in values.items())


def as_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, float) else str(value)


def check_prefix(prefix: str) -> str:
    """The environment prefix, or :class:`~cb_helper.api.errors.BadInput` when it cannot start a variable name."""
    from cb_helper.api.errors import BadInput

    if prefix and not _KEY.match(prefix):
        raise BadInput(f"--env-prefix {prefix!r} cannot start a shell variable name (letters, digits, _)")
    return prefix


def write_outputs(directory: Path, outputs: Outputs, prefix: str) -> tuple[Path, Path]:
    """``outputs.json`` and ``outputs.env`` in ``directory`` (empty when B sent none, so later steps can tell)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_file, env_file = directory / "outputs.json", directory / "outputs.env"
    json_file.write_text(json.dumps(outputs.values, indent=2) + "\n", encoding="utf-8")
    env_file.write_text(env_text(outputs.values, prefix), encoding="utf-8")
    return json_file, env_file
