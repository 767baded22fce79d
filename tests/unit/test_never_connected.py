"""Whether a connection error means the server never saw the request: the one case where a POST may be re-sent."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
import urllib3.exceptions as u3
from urllib3.connection import HTTPConnection

from cb_helper.api.client import _never_connected

CONN = HTTPConnection("127.0.0.1", 1)


def via_pool(reason: Exception) -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/api/v2/me", reason=reason))  # type: ignore[arg-type]


class Wrapper(Exception):
    """An error that only names its cause through ``__cause__``."""


def caused_by(cause: Exception) -> Exception:
    try:
        raise Wrapper("wrapped") from cause
    except Wrapper as wrapper:
        return wrapper


def nested(reason: Exception, depth: int) -> Exception:
    for _ in range(depth):
        reason = caused_by(reason)
    return reason


@pytest.mark.parametrize(
    ("error", "never"),
    [
        (via_pool(u3.NewConnectionError(CONN, "Connection refused")), True),
        (via_pool(u3.ConnectTimeoutError(CONN, "timed out")), True),
        (via_pool(u3.NameResolutionError("nope.invalid", CONN, socket.gaierror("no such host"))), True),
        (requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused")), True),
        (requests.exceptions.ConnectionError(caused_by(ConnectionRefusedError(111, "refused"))), True),
        (via_pool(nested(u3.NewConnectionError(CONN, "refused"), 3)), True),
        (via_pool(nested(u3.NewConnectionError(CONN, "refused"), 4)), False),  # looks five levels deep, no deeper
        (via_pool(u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))), False),
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")), False),
        (requests.exceptions.ConnectionError("Connection aborted."), False),
        (requests.exceptions.ConnectionError(), False),
    ],
)
def test_only_a_connection_that_was_never_made_counts(error: Any, never: bool) -> None:
    assert _never_connected(error) is never
