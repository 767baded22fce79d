"""The circleback record: what A hands B in one pipeline parameter, and what A keeps to prove it later.

The record names A's hold (project, pipeline, workflow, approval job), B's project and a deadline. It travels as
compact JSON in one string parameter (default name ``circleback``). A's trigger job also stores a *handoff* (the
record plus the id of the B pipeline it created) as an artifact at :data:`HANDOFF_ARTIFACT` and in A's workspace,
so that B can prove a record before approving, and the sweeper can find held workflows without A's workspace.

A record arriving as a parameter is a claim: :func:`parse_record` only checks its shape. The proof is in
:mod:`cb_helper.pattern.proof`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from cb_helper.api.errors import BadInput
from cb_helper.api.times import format_time, parse_time
from cb_helper.api.vocabulary import MAX_PARAMETER_VALUE_LENGTH, ProjectSlug, is_uuid

RECORD_VERSION = 1
#: The pipeline parameter B declares for the record.
DEFAULT_PARAMETER = "circleback"
#: Where A's trigger job stores the handoff (the record plus B's pipeline id) as an artifact.
HANDOFF_ARTIFACT = "circleback/handoff.json"
#: Where B's circle-back job stores its receipt (which hold it released) as an artifact, before approving.
RECEIPT_ARTIFACT = "circleback/receipt.json"

_FIELDS = ("v", "project", "pipeline_id", "pipeline_number", "workflow_id", "hold", "deadline", "downstream")


@dataclass(frozen=True)
class Record:
    """A's identity as handed to B."""

    project: str
    pipeline_id: str
    pipeline_number: int
    workflow_id: str
    hold: str
    deadline: datetime
    downstream: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "project": self.project,
            "pipeline_id": self.pipeline_id,
            "pipeline_number": self.pipeline_number,
            "workflow_id": self.workflow_id,
            "hold": self.hold,
            "deadline": format_time(self.deadline),
            "downstream": self.downstream,
        }

    def encode(self) -> str:
        """Compact JSON that fits one pipeline parameter, or :class:`BadInput` saying why it does not."""
        text = json.dumps(self.as_dict(), separators=(",", ":"))
        if len(text) > MAX_PARAMETER_VALUE_LENGTH:
            raise BadInput(
                f"the circleback record is {len(text)} characters, over CircleCI's limit of "
                f"{MAX_PARAMETER_VALUE_LENGTH} for a pipeline parameter value; shorten the hold job's name "
                f"({len(self.hold)} characters) or use the legacy two-parameter handoff"
            )
        return text


def parse_record(text: str, what: str = "--upstream") -> Optional[Record]:
    """The record in ``text``; ``None`` when it is empty (not triggered by an upstream).

    Strict: malformed JSON, an unknown version, a missing or unknown field, or a value of the wrong shape is
    :class:`BadInput` (exit 2), one line naming what was wrong.
    """
    if not text or not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not a circleback record: not JSON ({exc.msg} at character {exc.pos})") from None
    return record_from(data, what)


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (``null``, ``boolean``, ``number``, ``string``, ``array``, ``object``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def record_from(data: object, what: str) -> Record:
    if not isinstance(data, dict):
        raise BadInput(f"{what} is not a circleback record: expected a JSON object, got {json_type(data)}")
    version = data.get("v")
    if version != RECORD_VERSION or isinstance(version, bool):
        raise BadInput(f"{what} has record version {version!r}; this cb-helper reads version {RECORD_VERSION}")
    missing = [name for name in _FIELDS if name not in data]
    if missing:
        raise BadInput(f"{what} lacks the field(s) {', '.join(missing)} of a circleback record")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise BadInput(f"{what} has unknown field(s) {', '.join(unknown)} for record version {RECORD_VERSION}")
    for name in ("pipeline_id", "workflow_id"):
        if not is_uuid(data[name]) or data[name] != str(data[name]).lower():
            raise BadInput(f"{what}: {name} {data[name]!r} is not a UUID")
    number = data["pipeline_number"]
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise BadInput(f"{what}: pipeline_number {number!r} is not a positive integer")
    for name in ("project", "downstream"):
        if not isinstance(data[name], str):
            raise BadInput(f"{what}: {name} {data[name]!r} is not a project slug")
        ProjectSlug.parse(data[name])
    hold = data["hold"]
    if not isinstance(hold, str) or not hold.strip():
        raise BadInput(f"{what}: hold {hold!r} is not the name of an approval job")
    deadline = parse_time(data["deadline"])
    if deadline is None or not str(data["deadline"]).endswith("Z"):
        raise BadInput(
            f"{what}: deadline {data['deadline']!r} is not an RFC 3339 time in UTC (e.g. 2026-12-03T18:00:00Z)"
        )
    return Record(
        project=data["project"],
        pipeline_id=data["pipeline_id"],
        pipeline_number=number,
        workflow_id=data["workflow_id"],
        hold=hold,
        deadline=deadline,
        downstream=data["downstream"],
    )


@dataclass(frozen=True)
class Handoff:
    """What A's trigger job keeps: the record it sent and the B pipeline the trigger created."""

    record: Record
    downstream_pipeline_id: str
    downstream_pipeline_number: Optional[int] = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "record": self.record.as_dict(),
            "downstream_pipeline_id": self.downstream_pipeline_id,
            "downstream_pipeline_number": self.downstream_pipeline_number,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")


def parse_handoff(text: str, what: str) -> Handoff:
    """A handoff file or artifact; :class:`BadInput` when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not a circleback handoff: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("v") != RECORD_VERSION:
        raise BadInput(f"{what} is not a circleback handoff of version {RECORD_VERSION}")
    missing = [name for name in ("record", "downstream_pipeline_id") if name not in data]
    if missing:
        raise BadInput(
            f"{what} lacks the field(s) {', '.join(missing)} of a circleback handoff "
            "(expected the file written by cb-helper trigger --handoff-file)"
        )
    record = record_from(data.get("record"), f"the record in {what}")
    pipeline_id = data.get("downstream_pipeline_id")
    if not is_uuid(pipeline_id):
        raise BadInput(f"{what}: downstream_pipeline_id {pipeline_id!r} is not a UUID")
    number = data.get("downstream_pipeline_number")
    return Handoff(record, str(pipeline_id).lower(), number if isinstance(number, int) else None)


def read_handoff(path: str) -> Handoff:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(
            f"--handoff-file {path!r} cannot be read ({exc.strerror}); "
            "expected the file written by cb-helper trigger --handoff-file"
        ) from None
    return parse_handoff(text, path)
