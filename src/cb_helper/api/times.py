"""Time on the wire: RFC 3339 timestamps in UTC and durations written like ``90s``, ``15m``, ``6h`` or ``1h30m``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from cb_helper.api.errors import BadInput

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")
_UNITS = (86400, 3600, 60, 1)

#: CircleCI keeps an approval job on hold for at most 90 days; no duration about a hold needs to be longer.
MAX_HOLD = timedelta(days=90)
#: How long CircleCI keeps artifacts by default (an organization may lower it); the sweeper reads A's handoff
#: artifact, so a deadline that outlives it cannot be enforced from the artifact.
ARTIFACT_RETENTION = timedelta(days=30)


def parse_duration(text: str, what: str, maximum: timedelta = MAX_HOLD) -> timedelta:
    """``"6h"`` -> 6 hours; ``what`` names the option in the one-line error.

    A duration longer than ``maximum`` (by default CircleCI's 90-day hold limit) is refused, so no caller
    computes a time outside what a ``datetime`` can hold.
    """
    value = (text or "").strip().lower()
    match = _DURATION.match(value)
    if not value or match is None or not any(match.groups()):
        raise BadInput(f"{what} {text!r} is not a duration (expected e.g. 90s, 15m, 6h, 2d or 1h30m)")
    seconds = sum(int(group) * unit for group, unit in zip(match.groups(), _UNITS) if group)
    if seconds > maximum.total_seconds():
        raise BadInput(
            f"{what} {text!r} is longer than {format_duration(maximum)} "
            "(CircleCI keeps an approval job on hold for at most 90 days; expected e.g. 6h or 2d)"
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_duration`, for messages: ``timedelta(hours=1, minutes=30)`` -> ``1h30m``."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, suffix in zip(_UNITS, "dhms"):
        count, seconds = divmod(seconds, unit)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, e.g. ``2026-12-03T22:50:03Z``."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> Optional[datetime]:
    """An RFC 3339 timestamp as an aware datetime; ``None`` for anything else (naive times are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
