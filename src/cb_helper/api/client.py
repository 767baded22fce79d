"""CircleCIClient: one session, the token as a header, timeouts, retries, errors and pagination.

A library, usable without click. Every call goes through :meth:`CircleCIClient.request`; every list goes
through :meth:`CircleCIClient.paginate`, a generator that follows ``next_page_token``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests

from cb_helper import __version__
from cb_helper.api.auth import Token
from cb_helper.api.errors import (
    AmbiguousRequest,
    ApiError,
    BadInput,
    CbError,
    NetworkError,
    NotFound,
    RateLimited,
    Refused,
    Unauthorized,
)
from cb_helper.api.retry import RetryPolicy
from cb_helper.api.tuning import RATE_LIMIT_BUDGET_ENV

log = logging.getLogger("cb_helper.http")

DEFAULT_HOST = "https://circleci.com"
API_PREFIX = "/api/v2"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_MAX_PAGES = 500
USER_AGENT = f"cb-helper/{__version__} (+https://github.com/circleback/circleback)"
TOKEN_HEADER = "Circle-Token"
SESSION_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
RETRY_AFTER = "Retry-After"
#: While a request is rate limited, a warning every this many seconds (CI steps end after minutes of silence).
LIMIT_NOTICE_EVERY = 60.0


class _Session(requests.Session):
    """A session that drops the token header whenever a redirect leaves the origin."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        leaves = self.should_strip_auth(response.request.url, prepared_request.url)  # type: ignore[no-untyped-call]
        if leaves and TOKEN_HEADER in prepared_request.headers:
            del prepared_request.headers[TOKEN_HEADER]


def normalize_host(host: str) -> str:
    """``https://circleci.com/`` -> ``https://circleci.com``; refuses anything that is not an http(s) origin."""
    text = host.strip().rstrip("/")
    if text.endswith(API_PREFIX):
        text = text[: -len(API_PREFIX)]
    parts = urlsplit(text)
    if "@" in parts.netloc:  # never echo what precedes the "@": it may be a password
        shown = f"{parts.scheme}://***@{parts.netloc.rpartition('@')[2]}"
        raise BadInput(
            f"host {shown!r} carries credentials (expected a URL without user:password@; "
            "the token is read from the environment)"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadInput(f"host {host!r} is not an http(s) URL (expected e.g. https://circleci.com)")
    if not parts.hostname:
        raise BadInput(f"host {host!r} has no host name (expected e.g. https://circleci.com)")
    try:
        port = parts.port  # urllib refuses what is not a number from 0 to 65535
    except ValueError:
        port = 0
    if port == 0:
        raise BadInput(f"host {host!r} has an invalid port (expected a number from 1 to 65535)")
    return text


#: The environment variable naming a CircleCI Server's artifact host (the ``--artifact-host`` option's).
ARTIFACT_HOST_ENV = "CIRCLECI_ARTIFACT_HOST"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def normalize_artifact_host(host: str) -> str:
    """A host artifacts may be downloaded from with the token: https, or plain http on this machine's loopback."""
    text = normalize_host(host)
    parts = urlsplit(text)
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        raise BadInput(
            f"artifact host {host!r} is not an https URL (expected e.g. https://artifacts.ci.example.com: the "
            "token goes to an artifact host only over https)"
        )
    return text


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class CircleCIClient:
    """A small CircleCI API v2 client."""

    def __init__(
        self,
        host: str,
        token: Token,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        artifact_hosts: Sequence[str] = (),
    ) -> None:
        self.host = normalize_host(host)
        #: Hosts that serve this install's artifacts besides the API host (CircleCI Server): ``(scheme, netloc)``.
        self.artifact_hosts = frozenset(_origin(normalize_artifact_host(h)) for h in artifact_hosts)
        self.base_url = self.host + API_PREFIX
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_pages = max_pages
        self._sleep = sleep
        self._clock = clock  # what the rate-limit budget is measured with (tests give a fast clock with the sleep)
        self._token = token
        self.session = _Session()
        self.session.headers.update(SESSION_HEADERS)  # requests' own adapters: no retries of their own

    def __repr__(self) -> str:
        return f"CircleCIClient(host={self.host!r}, token={self._token!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CircleCIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, str]] = None,
        body: Any = None,
        post_retry_safe: bool = False,
        raw: bool = False,
    ) -> Any:
        """Send one API call (with retries where they are safe) and return the decoded JSON body.

        A GET is retried on :data:`~cb_helper.api.retry.RETRY_STATUSES`, connection errors, timeouts and unreadable
        bodies. A POST is re-sent only when the server certainly did not act on it (rate limited, or the
        connection was never established); otherwise :class:`AmbiguousRequest` is raised and the caller decides.
        429s spend no attempt: they are tried again, as ``Retry-After`` asks, for the retry policy's
        ``rate_limit_budget`` seconds from the first one, then :class:`RateLimited` says how long and how often.
        ``post_retry_safe`` marks a POST as idempotent, retried like a GET. ``raw`` returns the body's bytes
        instead of decoding JSON. ``path`` is under the API root, or an absolute URL :meth:`download` checked.
        """
        idempotent = method == "GET" or post_retry_safe
        absolute = path.startswith(("http://", "https://"))
        url = path if absolute else self.base_url + path
        if absolute:
            path = urlsplit(url).path  # what messages and logs show: never a query string
        headers = {TOKEN_HEADER: self._token.reveal()}  # requests adds Content-Type for a JSON body
        attempt = 0
        limit = _Limited()
        while True:
            attempt += 1
            last_try = attempt >= self.retry.max_attempts
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.exceptions.ConnectionError as exc:
                never_connected = _never_connected(exc)
                log.debug("%s %s -> connection failed (%s)", method, path, type(exc).__name__)
                if last_try or not (idempotent or never_connected):
                    raise self._network_error(method, path, exc, idempotent or never_connected) from None
                self._backoff(attempt, None)
                continue
            except requests.exceptions.Timeout as exc:  # a read timeout: a ConnectTimeout is a ConnectionError
                log.debug("%s %s -> timed out", method, path)
                if last_try or not idempotent:
                    raise self._network_error(method, path, exc, idempotent) from None
                self._backoff(attempt, None)
                continue
            except requests.exceptions.RequestException as exc:
                raise NetworkError(f"{method} {path} failed: {type(exc).__name__}") from None

            elapsed = time.monotonic() - started
            log.debug("%s %s%s -> %s (%.2fs)", method, path, _query_text(params), response.status_code, elapsed)
            status = response.status_code
            retryable = idempotent or status in self.retry.post_safe_statuses
            if status == 429 and retryable:
                # Refused by the rate limiter: it spends the rate-limit budget (time), not an attempt.
                self._wait_for_limit(method, path, response, limit)
                attempt -= 1
                continue
            if status in self.retry.statuses and retryable and not last_try and status != 429:
                self._backoff(attempt, response.headers.get(RETRY_AFTER))
                continue
            if status >= 400:
                raise self._api_error(method, path, response, idempotent)
            if raw:
                return response.content
            try:
                return response.json() if response.content else None
            except ValueError:
                log.debug("%s %s -> unreadable body", method, path)
                if idempotent and not last_try:
                    self._backoff(attempt, None)
                    continue
                if not idempotent:
                    raise AmbiguousRequest(
                        f"{method} {path} answered HTTP {status} with a body that is not JSON; "
                        "the request may have taken effect and was not re-sent"
                    ) from None
                raise NetworkError(f"{method} {path} answered HTTP {status} with a body that is not JSON") from None

    def get(self, path: str, params: Optional[Mapping[str, str]] = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, *, retry_safe: bool = False) -> Any:
        return self.request("POST", path, body=body, post_retry_safe=retry_safe)

    def download(self, url: str) -> bytes:
        """Fetch an artifact by the ``url`` its list gave, sending the token only to CircleCI's own hosts.

        On circleci.com artifacts are served from ``*.circle-artifacts.com``; on a server install and in the
        simulator, from the API host itself. Any other host gets no token: the download is refused.
        """
        parts = urlsplit(url)
        own = urlsplit(self.host)
        hostname = parts.hostname or ""  # urlsplit gives it in lower case
        same_origin = (parts.scheme, parts.netloc.lower()) == (own.scheme, own.netloc.lower())
        artifact_host = parts.scheme == "https" and (
            hostname == "circle-artifacts.com" or hostname.endswith(".circle-artifacts.com")
        )
        named = _origin(url) in self.artifact_hosts
        if not (same_origin or artifact_host or named) or "@" in parts.netloc:
            raise Refused(
                f"artifact URL on host {parts.hostname!r} is neither {own.hostname} nor CircleCI's artifact host; "
                "the token is not sent there (name your server's artifact host with --artifact-host or "
                f"{ARTIFACT_HOST_ENV} to allow it)"
            )
        data = self.request("GET", url, raw=True)
        assert isinstance(data, bytes)
        return data

    def paginate(self, path: str, params: Optional[Mapping[str, str]] = None) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, page by page, lazily (see :func:`cb_helper.api.pages.paginate`)."""
        from cb_helper.api.pages import paginate

        return paginate(self, path, params)

    def pause(self, seconds: float) -> None:
        """Wait, with the client's own sleep (tests give it a fast one)."""
        self._sleep(seconds)

    # --- helpers -----------------------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: Optional[str]) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.debug("retrying in %.2fs (attempt %d of %d)", delay, attempt + 1, self.retry.max_attempts)
        self._sleep(delay)

    def _wait_for_limit(self, method: str, path: str, response: requests.Response, limit: _Limited) -> None:
        """Sleep as a 429 asks, within the budget; :class:`RateLimited` once the budget cannot cover the wait."""
        now = self._clock()
        if limit.since is None:
            limit.since = now
        limit.count += 1
        waited = now - limit.since
        budget = self.retry.rate_limit_budget
        remaining = budget - waited
        retry_after = response.headers.get(RETRY_AFTER)
        least = self.retry.least_wait(retry_after)
        if remaining <= 0 or least > remaining:
            past = f", then asked to wait {least:g}s more" if remaining > 0 else ""
            raise RateLimited(
                method,
                path,
                429,
                _api_message(response),
                hint=(
                    f"rate limited; gave up after {_times(limit.count)} in {_span(waited)}{past}: "
                    f"the rate-limit budget, {RATE_LIMIT_BUDGET_ENV}, is {_span(budget)}"
                ),
            )
        if waited >= (limit.notices + 1) * LIMIT_NOTICE_EVERY:
            limit.notices = int(waited // LIMIT_NOTICE_EVERY)
            log.warning(
                "%s %s is rate limited: %s in %s; still trying, for up to %s in all",
                method,
                path,
                _times(limit.count),
                _span(waited),
                _span(budget),
            )
        delay = min(self.retry.delay(limit.count, retry_after), remaining)
        log.debug("rate limited (%s in %s); retrying in %.2fs", _times(limit.count), _span(waited), delay)
        self._sleep(delay)

    def _network_error(self, method: str, path: str, exc: Exception, safe: bool) -> NetworkError:
        kind = (
            "timed out" if isinstance(exc, requests.exceptions.Timeout) else "could not connect or lost the connection"
        )
        if safe:
            return NetworkError(f"{method} {path} {kind} (host {self.host}, after {self.retry.max_attempts} attempts)")
        return AmbiguousRequest(
            f"{method} {path} {kind} after the request was sent (host {self.host}); "
            "it may have taken effect, so it was not re-sent"
        )

    def _api_error(self, method: str, path: str, response: requests.Response, idempotent: bool) -> CbError:
        status = response.status_code
        message = _api_message(response)
        if status in (401, 403):
            return Unauthorized(method, path, status, message, hint="check the token: a personal API token is required")
        if status == 404:
            return NotFound(method, path, status, message, hint="it does not exist, or the token cannot see it")
        if status == 429:
            return RateLimited(method, path, status, message, hint="rate limited; not re-sent")
        if status >= 500 and not idempotent:
            return AmbiguousRequest(
                f"{method} {path} failed with HTTP {status}"
                + (f": {message}" if message else "")
                + "; the request may have taken effect, so it was not re-sent"
            )
        return ApiError(method, path, status, message)


class _Limited:
    """One request's run of 429s: when the first came, how many, and how many notices were logged."""

    def __init__(self) -> None:
        self.since: Optional[float] = None
        self.count = 0
        self.notices = 0


def _times(count: int) -> str:
    return f"{count} answer{'s' if count != 1 else ''} of HTTP 429"


def _span(seconds: float) -> str:
    """``2.3s`` under a minute, else whole units: ``4m58s``, ``1h0m5s``."""
    if seconds < 60:
        return f"{max(0.0, seconds):.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"


def _api_message(response: requests.Response) -> Optional[str]:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip().splitlines()
        return text[0][:200] if text else None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return None


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never established, so the server cannot have acted."""
    reason: object = exc.args[0] if exc.args else None
    seen = 0
    while reason is not None and seen < 5:
        name = type(reason).__name__
        if name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError"):
            return True
        if isinstance(reason, ConnectionRefusedError):
            return True
        reason = getattr(reason, "reason", None) or getattr(reason, "__cause__", None)
        seen += 1
    return False


def _query_text(params: Optional[Mapping[str, str]]) -> str:
    if not params:
        return ""
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())
