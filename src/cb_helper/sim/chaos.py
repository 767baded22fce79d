"""Faults at a rate and a per-token rate limit: the misbehaviour a soak meets on every route.

``ChaosRate`` faults each matching request with probability ``p``. The draw for a request depends only on
the seed, the request's *shape* (method and path with ids and numbers replaced by ``*``) and how many
requests of that shape came before, never on a shared random stream, so a run replays exactly as long as
requests of one shape arrive in the same order (always true of one pipeline pair; concurrent pipelines
interleave).

``RateLimit`` answers 429 with ``Retry-After`` once a token has sent ``requests`` requests in the current
``window`` seconds (a fixed window per token, as CircleCI's limits are per token).
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

#: What a rate-mode fault can be; each is a label in the report, and maps to one injected answer.
CHAOS_KINDS = (
    "429_retry_after",  # 429 with Retry-After
    "429",  # 429 without Retry-After
    "500",
    "502",
    "503",
    "504",
    "reset",  # the connection is closed before any answer; nothing was done
    "slow",  # the answer comes later than the client's read timeout
    "stale_page_token",  # 404 to a request that carries a page token
    "act_then_fail",  # a POST is performed, then its answer is lost (502)
)
_SHAPE = re.compile(r"/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+)(?=/|$)")


def shape(method: str, path: str) -> str:
    """``POST /workflow/<uuid>/approve/<uuid>`` -> ``POST /workflow/*/approve/*``."""
    return f"{method} {_SHAPE.sub('/*', path)}"


@dataclass(frozen=True)
class Injection:
    """What to do to one request: the fault kind of :mod:`cb_helper.sim.faults` and its options."""

    label: str
    kind: str
    status: Optional[int] = None
    retry_after: Optional[float] = None
    delay: Optional[float] = None


@dataclass
class ChaosRate:
    """Fault each request with probability ``rate``, choosing the kind by the same seeded draw."""

    rate: float
    seed: int
    kinds: Sequence[str] = CHAOS_KINDS
    slow: float = 2.0  # seconds an answer is held back ("slow"); set it above the client's read timeout
    retry_after: float = 1.0
    _counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate!r} is not a probability between 0 and 1")
        unknown = sorted(set(self.kinds) - set(CHAOS_KINDS))
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds {unknown or list(self.kinds)!r} are not among {', '.join(CHAOS_KINDS)}")
        if self.slow < 0 or self.retry_after < 0:
            raise ValueError(f"slow {self.slow!r} and retry_after {self.retry_after!r} must be seconds >= 0")

    def draw(self, method: str, path: str, has_page_token: bool) -> Optional[Injection]:
        """The fault for this request, or ``None``; call under the plan's lock (it counts shapes)."""
        key = shape(method, path)
        self._counts[key] += 1
        rng = random.Random(f"{self.seed}:{key}:{self._counts[key]}")  # noqa: S311 - a replayable draw
        if rng.random() >= self.rate:
            return None
        eligible = [k for k in self.kinds if _applies(k, method, has_page_token)]
        return _injection(rng.choice(eligible), self.slow, self.retry_after) if eligible else None


def _applies(kind: str, method: str, has_page_token: bool) -> bool:
    if kind == "stale_page_token":
        return has_page_token
    if kind == "act_then_fail":
        return method == "POST"
    return True


def _injection(label: str, slow: float, retry_after: float) -> Injection:
    if label == "429_retry_after":
        return Injection(label, "status", status=429, retry_after=retry_after)
    if label.isdigit():
        return Injection(label, "status", status=int(label))
    if label == "reset":
        return Injection(label, "drop")
    if label == "slow":
        return Injection(label, "delay", delay=slow)
    return Injection(label, label)  # stale_page_token, act_then_fail


class RateLimit:
    """At most ``requests`` requests per token in each ``window`` seconds; past it, 429 with Retry-After."""

    def __init__(self, requests: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        if requests < 1 or window <= 0:
            raise ValueError(f"rate limit {requests!r} per {window!r}s: expected requests >= 1 and window > 0")
        self.requests, self.window = requests, window
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def check(self, token: Optional[str]) -> Optional[Injection]:
        """Count one request of ``token``; the 429 to answer when it is over the limit."""
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(token or "", (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            self._windows[token or ""] = (start, count)
        if count <= self.requests:
            return None
        wait = max(1, math.ceil(start + self.window - now))
        return Injection("rate_limit", "status", status=429, retry_after=float(wait))
