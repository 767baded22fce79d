"""Waiting: a deadline, a growing interval, and a clock that tests can replace."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Poller:
    """Polls with backoff: ``interval`` first, growing by ``factor`` up to ``max_interval``, within ``timeout``."""

    timeout: float
    interval: float = 5.0
    max_interval: float = 30.0
    factor: float = 1.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _deadline: float = field(init=False, default=0.0)
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.timeout
        self._next = self.interval

    @property
    def remaining(self) -> float:
        return max(0.0, self._deadline - self.clock())

    @property
    def elapsed(self) -> float:
        return self.timeout - self.remaining

    def wait(self) -> bool:
        """Sleep until the next poll; ``False`` (without sleeping past it) once the deadline has passed."""
        remaining = self.remaining
        if remaining <= 0:
            return False
        self.sleep(min(self._next, remaining))
        self._next = min(self.max_interval, self._next * self.factor)
        return True
