"""Fault injection: per route and per count, make the server misbehave the way networks and APIs do.

A rule matches ``"METHOD /path-glob"`` (``fnmatch`` on the decoded path after ``/api/v2``). It lets
``after`` matching requests through, then fires ``count`` times (or, with ``seconds``, on every matching request
for that long from its first firing, by the plan's ``clock``), then stays quiet. Besides rules, a plan
can fault every request at a seeded rate and rate-limit each token (:mod:`cb_helper.sim.chaos`); a
request meets the rate limit first, then the rules, then the rate.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from cb_helper.sim.chaos import CHAOS_KINDS, ChaosRate, Injection, RateLimit

FAULT_KINDS = frozenset({"status", "delay", "drop", "truncate", "stale_page_token", "act_then_fail"})
FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Fault:
    """One rule. ``seen`` counts matching requests, ``fired`` the times it was injected.

    With ``seconds``, the rule fires on every matching request (past ``after``) until ``seconds`` have passed since
    it first fired (``started``, by ``clock``); ``count`` does not apply.
    """

    method: str
    glob: str
    kind: str
    count: int = 1
    after: int = 0
    status: Optional[int] = None
    retry_after: Optional[float] = None
    delay: Optional[float] = None
    seen: int = 0
    fired: int = 0
    seconds: Optional[float] = None
    started: Optional[float] = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @property
    def exhausted(self) -> bool:
        if self.seconds is not None:
            return self.started is not None and self.clock() - self.started >= self.seconds
        return self.fired >= self.count

    def fire(self) -> None:
        if self.started is None:
            self.started = self.clock()
        self.fired += 1

    def matches(self, method: str, path: str, has_page_token: bool) -> bool:
        if method != self.method or not fnmatch.fnmatchcase(path, self.glob):
            return False
        return self.kind != "stale_page_token" or has_page_token


class FaultPlan:
    """The faults a server injects; thread-safe, editable while the server runs.

    ``clock`` measures the rules' ``seconds`` and the rate limit's window; a test may give a fast one (set it
    before adding the rules it should measure).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rate: Optional[ChaosRate] = None
        self._limit: Optional[RateLimit] = None
        self._injected: Counter[str] = Counter()
        self._log: list[tuple[str, str, str]] = []

    def add(
        self,
        route: str,
        kind: str,
        *,
        count: Optional[int] = None,
        after: int = 0,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        delay: Optional[float] = None,
        seconds: Optional[float] = None,
    ) -> Fault:
        """Add a rule; see the module docstring. Returns it, so tests can read ``fired``.

        ``count`` (default 1) or ``seconds``, not both: fire that many times, or on every request for that long.
        """
        method, sep, glob = route.strip().partition(" ")
        if not sep or not glob.startswith("/") or method.upper() != method or not method.isalpha():
            raise ValueError(f"fault route {route!r} is not 'METHOD /path-glob' (e.g. 'GET /workflow/*/job')")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {', '.join(sorted(FAULT_KINDS))}")
        if kind == "status" and status not in FAULT_STATUSES:
            raise ValueError(f"fault status {status!r} is not one of {', '.join(map(str, sorted(FAULT_STATUSES)))}")
        if kind == "delay" and (delay is None or delay < 0):
            raise ValueError(f"fault delay {delay!r} is not a number of seconds >= 0")
        if kind == "status" and retry_after is not None and retry_after < 0:
            raise ValueError(f"fault retry_after {retry_after!r} is not a number of seconds >= 0")
        for option, value, owner in (
            ("status", status, "status"),
            ("retry_after", retry_after, "status"),
            ("delay", delay, "delay"),
        ):
            if value is not None and kind != owner:
                raise ValueError(f"fault option {option}={value!r} does not apply to kind {kind!r} (only to {owner!r})")
        if count is not None and seconds is not None:
            raise ValueError(f"fault count {count!r} and seconds {seconds!r}: give one of them, not both")
        if seconds is not None and not seconds > 0:
            raise ValueError(f"fault seconds {seconds!r} is not a number of seconds > 0")
        count = 1 if count is None else count
        if count < 1 or after < 0:
            raise ValueError(f"fault count {count!r} must be >= 1 and after {after!r} >= 0")
        fault = Fault(
            method, glob.strip(), kind, count, after, status, retry_after, delay, seconds=seconds, clock=self.clock
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def set_rate(
        self,
        rate: float,
        seed: int,
        *,
        kinds: Sequence[str] = CHAOS_KINDS,
        slow: float = 2.0,
        retry_after: float = 1.0,
    ) -> ChaosRate:
        """Fault every request with probability ``rate``, replayably from ``seed`` (see :mod:`~cb_helper.sim.chaos`).

        ``kinds`` are drawn from :data:`~cb_helper.sim.chaos.CHAOS_KINDS`; ``slow`` is how long a "slow"
        answer is held back, ``retry_after`` the seconds a ``429_retry_after`` asks for.
        """
        chaos = ChaosRate(rate, seed, tuple(kinds), slow, retry_after)
        with self._lock:
            self._rate = chaos
        return chaos

    def set_rate_limit(self, requests: int, window: float) -> RateLimit:
        """Answer 429 with ``Retry-After`` past ``requests`` requests per token in each ``window`` seconds."""
        limit = RateLimit(requests, window, self.clock)
        with self._lock:
            self._limit = limit
        return limit

    def take(
        self, method: str, path: str, *, has_page_token: bool = False, token: Optional[str] = None
    ) -> Optional[Fault]:
        """The fault to inject into this request, if any: the rate limit, the first live matching rule, the rate."""
        with self._lock:
            limit, rate = self._limit, self._rate
        if limit is not None:
            over = limit.check(token)
            if over is not None:
                return self._inject(method, path, over)
        chosen: Optional[Fault] = None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path, has_page_token):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen > fault.after:
                    fault.fire()
                    chosen = fault
            if chosen is not None:
                self._injected[_label(chosen)] += 1
                self._log.append((method, path, _label(chosen)))
                return chosen
            drawn = rate.draw(method, path, has_page_token) if rate is not None else None
        return self._inject(method, path, drawn) if drawn is not None else None

    def _inject(self, method: str, path: str, injection: Injection) -> Fault:
        with self._lock:
            self._injected[injection.label] += 1
            self._log.append((method, path, injection.label))
        return Fault(
            method,
            "*",
            injection.kind,
            status=injection.status,
            retry_after=injection.retry_after,
            delay=injection.delay,
            seen=1,
            fired=1,
        )

    def injected(self) -> dict[str, int]:
        """How many faults were injected, by label (a rate kind, ``rate_limit``, or a rule's kind or status)."""
        with self._lock:
            return dict(self._injected)

    def injections(self) -> list[tuple[str, str, str]]:
        """Every fault injected so far, oldest first: (method, path, label)."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        """Remove every rule, the rate and the rate limit (the injected counts stay)."""
        with self._lock:
            self._faults.clear()
            self._rate = None
            self._limit = None

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pending(self) -> list[Fault]:
        """Rules that have not fired all their ``count`` yet."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]


def _label(fault: Fault) -> str:
    if fault.kind == "status":
        with_hint = fault.status == 429 and fault.retry_after is not None
        return f"{fault.status}_retry_after" if with_hint else str(fault.status)
    return fault.kind
