"""Timeouts and the rate-limit budget from the environment.

``CB_HELPER_CONNECT_TIMEOUT`` and ``CB_HELPER_READ_TIMEOUT`` (seconds): the defaults (5 s to connect, 30 s to
read) suit CircleCI; a slow proxy may need longer, and a rehearsal against the local simulator can use shorter
ones. A value that is not a positive number is bad input.

``CB_HELPER_RATE_LIMIT_BUDGET``: how long one request keeps trying while the API answers only 429, from its first
429 (default 5 minutes; a duration such as ``10m`` or ``90s``, or plain seconds). Anything else is bad input.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Optional

from cb_helper.api.errors import BadInput
from cb_helper.api.retry import DEFAULT_RATE_LIMIT_BUDGET

CONNECT_TIMEOUT_ENV = "CB_HELPER_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "CB_HELPER_READ_TIMEOUT"
RATE_LIMIT_BUDGET_ENV = "CB_HELPER_RATE_LIMIT_BUDGET"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
#: The longest rate-limit budget accepted: a day (a request waiting longer is stuck, not limited).
MAX_RATE_LIMIT_BUDGET = 86400.0


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


def rate_limit_budget(environ: Optional[Mapping[str, str]] = None) -> float:
    """Seconds one request keeps trying through 429s: ``CB_HELPER_RATE_LIMIT_BUDGET`` where set, else 5 minutes."""
    env = os.environ if environ is None else environ
    text = env.get(RATE_LIMIT_BUDGET_ENV, "").strip()
    if not text:
        return DEFAULT_RATE_LIMIT_BUDGET
    try:
        value = float(text)
    except ValueError:
        value = _duration(text)
    if not math.isfinite(value) or value <= 0 or value > MAX_RATE_LIMIT_BUDGET:
        raise BadInput(
            f"{RATE_LIMIT_BUDGET_ENV}={text!r} is not a rate-limit budget "
            "(expected a duration such as 5m, 90s or 1h, or seconds; more than 0, at most 1d)"
        )
    return value


def _duration(text: str) -> float:
    from cb_helper.api.times import parse_duration

    try:
        return parse_duration(text, RATE_LIMIT_BUDGET_ENV).total_seconds()
    except BadInput:
        return math.nan
