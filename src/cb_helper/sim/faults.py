"""Fault injection: per route and per count, make the server misbehave the way networks and APIs do.

A rule matches ``"METHOD /path-glob"`` (``fnmatch`` on the decoded path after ``/api/v2``). It lets
``after`` matching requests through, then fires ``count`` times, then stays quiet.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Optional

FAULT_KINDS = frozenset({"status", "delay", "drop", "truncate", "stale_page_token", "act_then_fail"})
FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Fault:
    """One rule. ``seen`` counts matching requests, ``fired`` the times it was injected."""

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

    @property
    def exhausted(self) -> bool:
        return self.fired >= self.count

    def matches(self, method: str, path: str, has_page_token: bool) -> bool:
        if method != self.method or not fnmatch.fnmatchcase(path, self.glob):
            return False
        return self.kind != "stale_page_token" or has_page_token


class FaultPlan:
    """The faults a server injects; thread-safe, editable while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        route: str,
        kind: str,
        *,
        count: int = 1,
        after: int = 0,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        delay: Optional[float] = None,
    ) -> Fault:
        """Add a rule; see the module docstring. Returns it, so tests can read ``fired``."""
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
        if count < 1 or after < 0:
            raise ValueError(f"fault count {count!r} must be >= 1 and after {after!r} >= 0")
        fault = Fault(method, glob.strip(), kind, count, after, status, retry_after, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, *, has_page_token: bool = False) -> Optional[Fault]:
        """The fault to inject into this request, if any (the first live matching rule)."""
        chosen: Optional[Fault] = None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path, has_page_token):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen > fault.after:
                    fault.fired += 1
                    chosen = fault
        return chosen

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pending(self) -> list[Fault]:
        """Rules that have not fired all their ``count`` yet."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]
