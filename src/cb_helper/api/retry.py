"""The retry policy: which failures are retried, how long to wait, and when a POST may be re-sent."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

#: Statuses worth another try for a request that changes nothing (GET):
#: 429 rate limited (CircleCI asks for exponential backoff and usually sends Retry-After);
#: 500 internal error, 502 bad gateway, 503 unavailable, 504 gateway timeout: transient on CircleCI's side.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Statuses on which the server certainly did not act, so even a POST may be re-sent.
#: 429: the request was refused by the rate limiter before it reached the handler.
POST_SAFE_STATUSES = frozenset({429})

#: How long one request keeps trying while the server answers only 429 (seconds, from its first 429). A 429 asks
#: the client to wait, not to fail: many jobs sharing one token can be limited for minutes in a busy organization.
DEFAULT_RATE_LIMIT_BUDGET = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter, honouring ``Retry-After`` up to a cap.

    Failures other than 429 get ``max_attempts`` tries. 429s are refused before anything is done, and under a busy
    limit many in a row are normal: they spend no attempt but time, ``rate_limit_budget`` seconds from a request's
    first 429, so a limit that lasts minutes does not end a command that a later window would serve.
    """

    max_attempts: int = 5
    rate_limit_budget: float = DEFAULT_RATE_LIMIT_BUDGET
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    retry_after_cap: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES
    post_safe_statuses: frozenset[int] = POST_SAFE_STATUSES
    jitter: Callable[[float], float] = field(default=lambda ceiling: random.uniform(0, ceiling), repr=False)  # noqa: S311

    def delay(self, attempt: int, retry_after: Optional[str] = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        ``Retry-After`` is the least wait; a random share of the backoff (at most the hint itself) is added, so
        clients limited together do not all come back at the same instant and meet the limit again.
        """
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            least = min(hinted, self.retry_after_cap)
            return least + max(0.0, self.jitter(min(self.ceiling(attempt), max(least, self.backoff_base))))
        return max(0.0, self.jitter(self.ceiling(attempt)))

    def least_wait(self, retry_after: Optional[str]) -> float:
        """The wait ``Retry-After`` asks for (capped), 0 without one: a try sooner than this would be refused."""
        hinted = parse_retry_after(retry_after)
        return 0.0 if hinted is None else min(hinted, self.retry_after_cap)

    def ceiling(self, attempt: int) -> float:
        """The longest backoff after failed attempt number ``attempt``: ``backoff_base`` doubled, up to the max."""
        return min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
