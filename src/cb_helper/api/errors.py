"""One error hierarchy; every class knows the exit status the CLI returns for it.

Exit statuses (documented in the README; the orb relies on them):

* 0 success
* 1 downstream finished unsuccessfully (failed, error, failing, unauthorized)
* 2 bad input or usage, detected before any API call; also a config wiring the trigger refuses after reading
  A's workflow (nothing is triggered)
* 3 API or network error after retries, or a look-up/refusal
* 4 timed out waiting
* 5 downstream canceled, not run, or never started (errored pipeline)

Messages never contain a token or a header value.
"""

from __future__ import annotations

import enum
from typing import Optional


class ExitStatus(enum.IntEnum):
    OK = 0
    DOWNSTREAM_FAILED = 1
    USAGE = 2
    API = 3
    TIMEOUT = 4
    DOWNSTREAM_CANCELED = 5


class CbError(Exception):
    """Base class of every error cb-helper raises on purpose."""

    exit_status: ExitStatus = ExitStatus.API

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(CbError):
    """Input was rejected before any API call was made."""

    exit_status = ExitStatus.USAGE


class ConfigurationError(BadInput):
    """The environment is not set up (e.g. the token variable is missing)."""


class ApiError(CbError):
    """The API answered with an error status (after any retries)."""

    exit_status = ExitStatus.API

    def __init__(
        self,
        method: str,
        path: str,
        status: Optional[int],
        api_message: Optional[str],
        hint: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.api_message = api_message
        parts = [f"{method} {path}"]
        if status is not None:
            parts.append(f"failed with HTTP {status}")
        else:
            parts.append("failed")
        text = " ".join(parts)
        if api_message:
            text += f": {api_message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class NotFound(ApiError):
    """HTTP 404: the object does not exist, or the token cannot see it."""


class Unauthorized(ApiError):
    """HTTP 401/403: the token was refused."""


class RateLimited(ApiError):
    """HTTP 429 after every retry was spent."""


class NetworkError(CbError):
    """The request never got an answer (connection, timeout, truncated body)."""

    exit_status = ExitStatus.API


class AmbiguousRequest(NetworkError):
    """A POST may or may not have taken effect; it was not re-sent."""


class LookupFailed(CbError):
    """A look-up found nothing usable (no such job, no matching workflow)."""

    exit_status = ExitStatus.API


class Refused(CbError):
    """A safety check refused an action (not an approval job, project not allowed)."""

    exit_status = ExitStatus.API


class WaitTimeout(CbError):
    """Waiting for a state ran out of time."""

    exit_status = ExitStatus.TIMEOUT


class DownstreamFailed(CbError):
    """The downstream pipeline finished unsuccessfully."""

    exit_status = ExitStatus.DOWNSTREAM_FAILED


class DownstreamCanceled(CbError):
    """The downstream pipeline was canceled, not run, or never started."""

    exit_status = ExitStatus.DOWNSTREAM_CANCELED
