"""Timeouts from the environment: ``CB_HELPER_CONNECT_TIMEOUT`` and ``CB_HELPER_READ_TIMEOUT`` (seconds).

The defaults (5 s to connect, 30 s to read) suit CircleCI; a slow proxy may need longer, and a rehearsal
against the local simulator can use shorter ones. A value that is not a positive number is bad input.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Optional

from cb_helper.api.errors import BadInput

CONNECT_TIMEOUT_ENV = "CB_HELPER_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "CB_HELPER_READ_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


def timeouts(environ: Optional[Mapping[str, str]] = None) -> tuple[float, float]:
    """(connect, read) seconds: the environment's values where set, else the defaults."""
    env = os.environ if environ is None else environ
    return (
        _seconds(env, CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT),
        _seconds(env, READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT),
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > 3600:
        raise BadInput(f"{name}={text!r} is not a number of seconds (expected e.g. 30, more than 0, at most 3600)")
    return value
